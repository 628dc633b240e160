using U2A.Core.Alignment;
using U2A.Core.Influence;
using U2A.Core.Models;
using U2A.Core.Selection;
using U2A.Core.Unlearning;
using static TorchSharp.torch;

namespace U2A.Core.MisuseProbe;

/// <summary>
/// One misuse case: <see cref="Run"/> must throw exactly <see cref="Expected"/>, with a message contains every
/// fragment of <see cref="MessageContains"/> (ignoring case); when <see cref="Expected"/> is null it must complete.
/// </summary>
public sealed record ProbeCase(string Name, Type? Expected, string[] MessageContains, Action Run)
{
    /// <summary>Runs the case; returns null when it behaved as expected, else what went wrong.</summary>
    public string? Check(out string observed)
    {
        try
        {
            using (NewDisposeScope()) Run();
            observed = "completed without an exception";
            return Expected is null ? null : $"expected {Expected.Name}, but it {observed}";
        }
        catch (Exception e)
        {
            observed = $"{e.GetType().Name}: {e.Message}";
            if (Expected is null) return $"expected to complete, but threw {observed}";
            if (e.GetType() != Expected) return $"expected {Expected.Name}, got {observed}";
            var missing = MessageContains.Where(f => !e.Message.Contains(f, StringComparison.OrdinalIgnoreCase)).ToArray();
            return missing.Length == 0 ? null : $"the message does not name [{string.Join(", ", missing)}]: {observed}";
        }
    }
}

/// <summary>
/// The misuse cases that killed the process with a native abort inside <c>torch.autograd.grad</c> (exit 134) before
/// the guards in <see cref="BilevelProblem"/>, <see cref="InfluenceScorer"/> and <see cref="InnerObjective"/> existed.
/// They must only ever run in a child process.
/// </summary>
public static class AbortCases
{
    private static readonly Type Invalid = typeof(InvalidOperationException);

    public static IReadOnlyList<ProbeCase> All { get; } = Build();

    public static ProbeCase Find(string name) =>
        All.FirstOrDefault(c => c.Name == name) ?? throw new ArgumentException($"no probe case '{name}'; --list shows them.", nameof(name));

    private static ProbeCase Case(string name, Type? expected, string[] fragments, Action<MisuseWorld> run, bool lora = false) =>
        new(name, expected, fragments, () =>
        {
            using var world = new MisuseWorld(lora: lora);
            run(world);
        });

    private static void Score(MisuseWorld w, BilevelProblem problem, ScoringMethod method)
    {
        using var direction = new IdentityEstimator().Estimate(problem);
        new InfluenceScorer(method).Score(problem, direction);
    }

    private static IReadOnlyList<ProbeCase> Build() =>
    [
        // A user's unlearner whose loss is detached from the graph.
        Case("loop-scoring/detached-unlearner", Invalid, ["DetachedGA", "autograd graph"],
            w => Score(w, w.Problem(MisbehavingUnlearner.Detached()), ScoringMethod.PerExampleLoop)),
        Case("batched-scoring/detached-unlearner", Invalid, ["DetachedGA", "autograd graph"],
            w => Score(w, w.Problem(MisbehavingUnlearner.Detached()), ScoringMethod.BatchedExact)),
        Case("run/loop-scoring/detached-unlearner", Invalid, ["DetachedGA", "autograd graph"],
            w => w.Run(MisbehavingUnlearner.Detached(), options: MisuseWorld.FastOptions(ScoringMethod.PerExampleLoop))),
        Case("run/batched-scoring/detached-unlearner", Invalid, ["DetachedGA", "autograd graph"],
            w => w.Run(MisbehavingUnlearner.Detached())),
        Case("run/positive-score-selector/detached-unlearner", Invalid, ["DetachedGA", "autograd graph"],
            w => w.Run(MisbehavingUnlearner.Detached(), selector: new PositiveScoreSelector())),
        Case("run/matching-pursuit-after-finite-differences/detached-unlearner", Invalid, ["DetachedGA", "autograd graph"],
            w => w.Run(MisbehavingUnlearner.Detached(), selector: new MatchingPursuitSelector(2), options: MisuseWorld.FastOptions(ScoringMethod.FiniteDifference))),
        Case("loop-scoring/no-grad-unlearner", Invalid, ["NoGradGA", "autograd graph"],
            w => Score(w, w.Problem(MisbehavingUnlearner.NoGrad()), ScoringMethod.PerExampleLoop)),
        Case("loop-scoring/integer-unlearner", Invalid, ["IntegerGA", "Int64"],
            w => Score(w, w.Problem(MisbehavingUnlearner.Integer()), ScoringMethod.PerExampleLoop)),
        // Losses that require grad through a fresh leaf, or a closure whose losses have no graph: the batched double-VJP's
        // second gradient (with respect to the dummy u) had no graph and aborted.
        Case("run/unlearner-returns-a-fresh-leaf", Invalid, ["per-example loss", "depends on none"],
            w => w.Run(MisbehavingUnlearner.Leaf())),
        Case("batched-scoring/per-example-closure-returns-too-many", Invalid, ["per-example loss", "[5]", "4 candidate"], w =>
        {
            var problem = w.RawProblem(perExample: idx => zeros(idx.Count + 1, dtype: ScalarType.Float64));
            using var direction = w.Direction();
            new InfluenceScorer(ScoringMethod.BatchedExact).Score(problem, direction);
        }),
        Case("conjugate-gradient/detached-unlearner", Invalid, ["DetachedGA", "autograd graph"],
            w => new ConjugateGradientEstimator(damping: 1.0, maxIterations: 2).Estimate(w.Problem(MisbehavingUnlearner.Detached())).Dispose()),

        // A user's alignment scorer whose J does not depend on the parameters, or is not a scalar.
        Case("identity-estimator/constant-objective", Invalid, ["alignment objective J", "does not depend on the trainable parameters"],
            w => new IdentityEstimator().Estimate(w.Problem(new GradAscent(), MisbehavingScorer.Constant())).Dispose()),
        Case("run/constant-objective", Invalid, ["alignment objective J", "does not depend on the trainable parameters"],
            w => w.Run(scorer: MisbehavingScorer.Constant())),
        Case("run/detached-objective", Invalid, ["alignment objective J", "does not depend on the trainable parameters"],
            w => w.Run(scorer: MisbehavingScorer.Detached(w.Dpo))),
        Case("identity-estimator/inside-no-grad", Invalid, ["alignment objective J", "no_grad"], w =>
        {
            var problem = w.Problem(new GradAscent());
            using var noGrad = no_grad();
            new IdentityEstimator().Estimate(problem).Dispose();
        }),
        Case("identity-estimator/vector-objective", Invalid, ["alignment objective J", "scalar", "[2]"],
            w => new IdentityEstimator().Estimate(w.Problem(new GradAscent(), MisbehavingScorer.Vector(w.Dpo))).Dispose()),

        // Raw bi-level problems whose inner loss has no graph (Hessian-vector products and unrolled steps).
        Case("neumann-estimator/detached-inner-loss", Invalid, ["inner loss", "does not depend on the trainable parameters"],
            w => new NeumannEstimator(alpha: 0.1, iterations: 2).Estimate(w.RawProblem(innerLoss: () => tensor(0.5, dtype: ScalarType.Float64))).Dispose()),
        Case("unrolled-estimator/detached-inner-loss", Invalid, ["inner loss", "does not depend on the trainable parameters"],
            w => new UnrolledEstimator(steps: 2).Estimate(w.RawProblem(innerLoss: () => tensor(0.5, dtype: ScalarType.Float64))).Dispose()),

        // A problem whose J closure hands back one cached tensor: the first gradient frees its graph, the second aborted.
        Case("identity-estimator/same-objective-tensor-twice", Invalid, ["alignment objective J", "same tensor"], w =>
        {
            Tensor? cached = null;
            var problem = w.RawProblem(objective: () => cached ??= w.Dpo.Objective(w.Model).DetachFromDisposeScope());
            new IdentityEstimator().Estimate(problem).Dispose();
            new IdentityEstimator().Estimate(problem).Dispose();
        }),

        // LoRA adapters switched off or merged: no trainable parameter is in the graph.
        Case("run/lora-adapters-disabled", Invalid, ["DisableAdapters"], w =>
        {
            using var off = w.Lora!.DisableAdapters();
            w.Run();
        }, lora: true),
        Case("run/lora-adapters-merged", Invalid, ["merged", "Unmerge"], w =>
        {
            w.Lora!.Merge();
            w.Run();
        }, lora: true),
        Case("run/lora-adapters-disabled/custom-scorer", Invalid, ["alignment objective J", "LoraModel"], w =>
        {
            // J from ResponseLogProbs directly, so that only the guard at the gradient sees it.
            var custom = new MisbehavingScorer("MyLikelihood", m => -ResponseLogProbs.Compute(m, w.Preferences.Chosen).Sum.mean());
            using var off = w.Lora!.DisableAdapters();
            w.Run(scorer: custom, unlearner: new GradAscent());
        }, lora: true),
        Case("loop-scoring/lora-adapters-disabled", Invalid, ["DisableAdapters"], w =>
        {
            var problem = w.Problem(new GradAscent(), new MisbehavingScorer("J", m => w.Dpo.Objective(m)));
            using var direction = new IdentityEstimator().Estimate(problem);
            using var off = w.Lora!.DisableAdapters();
            new InfluenceScorer(ScoringMethod.PerExampleLoop).Score(problem, direction);
        }, lora: true),
        Case("conjugate-gradient/lora-adapters-merged", Invalid, ["merged", "Unmerge"], w =>
        {
            w.Lora!.Merge();
            new ConjugateGradientEstimator(damping: 1.0, maxIterations: 2).Estimate(w.Problem(new GradAscent())).Dispose();
        }, lora: true),
    ];
}
