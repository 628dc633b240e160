using TorchSharp;
using U2A.Core.Alignment;
using U2A.Core.Data;
using U2A.Core.Influence;
using U2A.Core.Models;
using U2A.Core.Optimization;
using U2A.Core.Selection;
using U2A.Testing;
using U2A.Core.Training;
using U2A.Core.Unlearning;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Optimization;

public sealed class BilevelOptimizerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("u2a-bilevel-").FullName;
    private readonly SyntheticSafetyTask _task = new(seed: 2, trueNegatives: 8, mislabeledNegatives: 4, preferencePairs: 6);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class Setup : IDisposable
    {
        public TinyTransformerLM Model = null!;
        public ParameterSnapshotReference Start = null!;
        public ForgetBatch Pool = null!;
        public PreferenceBatch Prefs = null!;
        public IAlignmentScorer Scorer = null!;
        public void Dispose() { Pool.Dispose(); Prefs.Dispose(); Start.Dispose(); Model.Dispose(); }
    }

    private Setup Make()
    {
        var s = new Setup { Model = new TinyTransformerLM(_task.Tokenizer.VocabSize, width: 16, layers: 1, heads: 2, maxLength: 16, seed: 3) };
        s.Start = new ParameterSnapshotReference(s.Model);
        s.Pool = _task.ForgetBatch();
        s.Prefs = _task.PreferenceBatch(s.Start);
        s.Scorer = new DpoObjective(s.Prefs);
        return s;
    }

    private static BilevelOptions Options(int outer = 3, int inner = 4) => new()
    {
        OuterIterations = outer, InnerSteps = inner, InnerBatchSize = 4, Seed = 5, PaPatience = 100,
        InnerOptimizer = new OptimizerSettings { LearningRate = 1e-3 }, WeightLearningRate = 0.5,
    };

    private static BilevelOptimizer Optimizer(Setup s, BilevelOptions options, IUnlearner? unlearner = null) =>
        new(s.Model, new InnerObjective(unlearner ?? new GradAscent()), s.Scorer, new TopKSelector(6), new IdentityEstimator(), options);

    private static float[][] Values(ICausalLM model) => model.TrainableParameters.Select(p => p.detach().cpu().data<float>().ToArray()).ToArray();

    [Fact]
    public void Run_selects_weights_and_records_every_iteration()
    {
        using var s = Make();
        var result = Optimizer(s, Options()).Run(s.Pool);
        Assert.Equal(s.Pool.Count, result.InitialScores.Count);
        Assert.Equal(6, result.SelectedIndices.Count);
        Assert.Equal(1.0, result.Weights.Sum(), 9);
        Assert.Equal(new[] { 0, 1, 2, 3 }, result.History.Select(h => h.Iteration));
        Assert.All(result.History.Skip(1), h => Assert.Equal(4, h.InnerSteps));
        Assert.True(result.PhaseTimes[BilevelPhase.Unlearn] > TimeSpan.Zero);
        // The top-k selection is the k best initial scores.
        var best = Enumerable.Range(0, result.InitialScores.Count).OrderByDescending(i => result.InitialScores[i]).Take(6).OrderBy(i => i);
        Assert.Equal(best, result.SelectedIndices.OrderBy(i => i));
    }

    [Fact]
    public void Same_seed_gives_bitwise_identical_runs()
    {
        using var a = Make();
        var ra = Optimizer(a, Options() with { RestoreBestParameters = false }).Run(a.Pool);
        using var b = Make();
        var rb = Optimizer(b, Options() with { RestoreBestParameters = false }).Run(b.Pool);
        Assert.Equal(ra.Weights, rb.Weights);
        Assert.Equal(Values(a.Model), Values(b.Model));
    }

    [Fact]
    public void Resumed_run_ends_bitwise_identical_to_an_uninterrupted_one()
    {
        // RestoreBestParameters off: the final parameters are those of the last iteration, which the resumed run must recompute.
        var options = Options() with { RestoreBestParameters = false };
        using var a = Make();
        var full = Optimizer(a, options).Run(a.Pool);

        using var b = Make();
        string dir = Path.Combine(_dir, "ckpt");
        using var cts = new CancellationTokenSource();
        var stopAfterFirst = new SyncProgress(p => { if (p.Phase == BilevelPhase.Unlearn && p.OuterIteration == 2) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => Optimizer(b, options with { CheckpointDirectory = dir }).Run(b.Pool, stopAfterFirst, cancellationToken: cts.Token));

        using var c = Make(); // a fresh process would start from scratch like this
        using var checkpoint = BilevelCheckpoint.Load(dir);
        Assert.Equal(1, checkpoint.CompletedIterations);
        Assert.NotEqual(Values(c.Model), Values(a.Model)); // a fresh model: nothing is shared with the finished run
        var resumed = Optimizer(c, options).Run(c.Pool, resumeFrom: checkpoint);
        Assert.Equal(full.Weights, resumed.Weights);
        Assert.Equal(full.SelectedIndices, resumed.SelectedIndices);
        Assert.Equal(full.History.Select(h => h.PaScore), resumed.History.Select(h => h.PaScore));
        Assert.Equal(full.History.Select(h => h.Objective), resumed.History.Select(h => h.Objective));
        Assert.Equal(Values(a.Model), Values(c.Model));

        // A checkpoint is refused by a run with other settings.
        using var d = Make();
        using var again = BilevelCheckpoint.Load(dir);
        var e = Assert.Throws<ArgumentException>(() => Optimizer(d, options with { InnerSteps = 5 }).Run(d.Pool, resumeFrom: again));
        Assert.Contains("other settings", e.Message);
    }

    [Fact]
    public void Cancellation_mid_inner_loop_keeps_the_last_completed_steps_parameters()
    {
        using var s = Make();
        using var cts = new CancellationTokenSource();
        float[][]? afterStep2 = null;
        var progress = new SyncProgress(p =>
        {
            if (p.Phase == BilevelPhase.Unlearn && p.OuterIteration == 1 && p.Step == 2) { afterStep2 = Values(s.Model); cts.Cancel(); }
        });
        Assert.ThrowsAny<OperationCanceledException>(() => Optimizer(s, Options()).Run(s.Pool, progress, cancellationToken: cts.Token));
        Assert.NotNull(afterStep2);
        Assert.Equal(afterStep2, Values(s.Model));
    }

    [Fact]
    public void Non_finite_loss_stops_with_phase_and_step_and_restores_the_parameters_of_the_iterations_start()
    {
        using var s = Make();
        var poison = new PoisonedUnlearner();
        float[][]? atIterationStart = null;
        var progress = new SyncProgress(p =>
        {
            if (p.Phase == BilevelPhase.Evaluate && p.OuterIteration == 1) atIterationStart = Values(s.Model);
            if (p.Phase == BilevelPhase.Unlearn && p.OuterIteration == 2 && p.Step == 2) poison.Armed = true;
        });
        var e = Assert.Throws<BilevelNumericalException>(() => Optimizer(s, Options() with { Reweight = false, RestoreBestParameters = false }, poison).Run(s.Pool, progress));
        Assert.Equal(BilevelPhase.Unlearn, e.Phase);
        Assert.Equal(2, e.OuterIteration);
        Assert.Equal(3, e.Step);
        Assert.Contains("inner step 3", e.Message);
        Assert.NotNull(atIterationStart);
        Assert.Equal(atIterationStart, Values(s.Model));
    }

    [Theory]
    [InlineData(true, BilevelPhase.Score)]
    [InlineData(false, BilevelPhase.Evaluate)]
    public void Non_finite_objective_stops_in_its_phase_and_restores_the_parameters_of_the_iterations_start(bool reweight, BilevelPhase phase)
    {
        using var s = Make();
        var scorer = new PoisonedScorer(s.Scorer);
        float[][]? atIterationStart = null;
        var progress = new SyncProgress(p =>
        {
            if (p.Phase == BilevelPhase.Evaluate && p.OuterIteration == 1) atIterationStart = Values(s.Model);
            if (p.Phase == BilevelPhase.Unlearn && p.OuterIteration == 2 && p.Step == 4) scorer.Armed = true;
        });
        var optimizer = new BilevelOptimizer(s.Model, new InnerObjective(new GradAscent()), scorer, new TopKSelector(6), new IdentityEstimator(),
            Options() with { Reweight = reweight, RestoreBestParameters = false });
        var e = Assert.Throws<BilevelNumericalException>(() => optimizer.Run(s.Pool, progress));
        Assert.Equal(phase, e.Phase);
        Assert.Equal(2, e.OuterIteration);
        Assert.NotNull(atIterationStart);
        Assert.Equal(atIterationStart, Values(s.Model));
    }

    [Fact]
    public void An_estimator_failure_after_the_inner_run_restores_the_iterations_starting_parameters()
    {
        using var s = Make();
        var before = Values(s.Model);
        var estimator = new FailingEstimator(new IdentityEstimator());
        var progress = new SyncProgress(p => { if (p.Phase == BilevelPhase.Unlearn && p.OuterIteration == 1 && p.Step == 4) estimator.Armed = true; });
        var optimizer = new BilevelOptimizer(s.Model, new InnerObjective(new GradAscent()), s.Scorer, new TopKSelector(6), estimator, Options());
        Assert.Contains("diverged", Assert.Throws<InvalidOperationException>(() => optimizer.Run(s.Pool, progress)).Message);
        Assert.Equal(before, Values(s.Model)); // the inner run of iteration 1 moved them; the failure put them back
    }

    /// <summary>An estimator that fails (as a diverging Neumann series does) once armed.</summary>
    private sealed class FailingEstimator(IHypergradientEstimator inner) : IHypergradientEstimator
    {
        public bool Armed { get; set; }
        public string Name => inner.Name;
        public InfluenceDirection Estimate(BilevelProblem problem, CancellationToken cancellationToken = default) =>
            Armed ? throw new InvalidOperationException("the series diverged") : inner.Estimate(problem, cancellationToken);
    }

    [Fact]
    public void Live_tensor_count_stays_flat_over_200_inner_steps()
    {
        using var s = Make();
        var counts = new List<long>();
        var progress = new SyncProgress(p => { if (p.Phase == BilevelPhase.Evaluate) counts.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount); });
        var options = Options(outer: 20, inner: 10) with { CheckpointDirectory = Path.Combine(_dir, "mem") };
        Optimizer(s, options).Run(s.Pool, progress);
        Assert.Equal(21, counts.Count);
        // After the first iterations warm up, every outer iteration (10 inner steps, scoring, reweighting,
        // evaluation, a checkpoint) must end with the same number of live tensors.
        Assert.True(counts[20] <= counts[2], $"live tensors grew: {string.Join(", ", counts)}");
    }

    [Fact]
    public void Forget_bound_stops_an_inner_run_after_the_patience_steps()
    {
        using var s = Make();
        // Any forget NLL exceeds -1, so the bound is passed from the first step: the run stops after 2 steps.
        var result = Optimizer(s, Options(outer: 1, inner: 10) with { MaxForgetNll = -1, ForgetBoundPatience = 2 }).Run(s.Pool);
        Assert.Equal(2, result.History[1].InnerSteps);
        Assert.True(result.History[1].ForgetNll > -1);
    }

    [Fact]
    public void With_lora_only_the_adapters_move_and_are_checkpointed()
    {
        using var s = Make();
        var baseValues = s.Model.parameters().Select(p => p.detach().clone()).ToArray();
        using var lora = new U2A.Core.Models.Lora.LoraModel(s.Model, new U2A.Core.Models.Lora.LoraOptions { TargetModules = new[] { "c_attn" }, Rank = 2 });
        var scorer = new DpoObjective(s.Prefs);
        string dir = Path.Combine(_dir, "lora");
        var optimizer = new BilevelOptimizer(lora, new InnerObjective(new GradAscent()), scorer, new TopKSelector(6), new IdentityEstimator(),
            Options(outer: 1, inner: 3) with { CheckpointDirectory = dir, RestoreBestParameters = false, InnerOptimizer = new OptimizerSettings { LearningRate = 1e-2 } });
        optimizer.Run(s.Pool);
        var after = s.Model.parameters().ToArray();
        for (int i = 0; i < after.Length; i++) Assert.Equal(baseValues[i].data<float>().ToArray(), after[i].detach().data<float>().ToArray());
        Assert.Contains(lora.TrainableParameters, p => p.detach().abs().sum().item<float>() > 0 && p.shape[0] != 2); // B moved off zero
        using var checkpoint = BilevelCheckpoint.Load(dir);
        Assert.Equal(lora.TrainableParameters.Select(p => p.shape), checkpoint.Parameters.Select(p => p.shape));
    }

    [Fact]
    public void Invalid_options_and_budgets_are_reported_with_the_field_name()
    {
        using var s = Make();
        var e1 = Assert.Throws<ArgumentException>(() => Optimizer(s, Options() with { InnerSteps = 0 }).Run(s.Pool));
        Assert.Contains("BilevelOptions.InnerSteps", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => Optimizer(s, Options() with { WeightLearningRate = -1 }).Run(s.Pool));
        Assert.Contains("WeightLearningRate", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => Optimizer(s, Options() with { InnerOptimizer = new OptimizerSettings { LearningRate = 0 } }).Run(s.Pool));
        Assert.Contains("InnerOptimizer.LearningRate", e3.Message);
        // A budget larger than the pool is refused before any scoring work.
        var phases = new List<BilevelPhase>();
        var big = new BilevelOptimizer(s.Model, new InnerObjective(new GradAscent()), s.Scorer, new TopKSelector(99), new IdentityEstimator(), Options());
        var e4 = Assert.Throws<ArgumentException>(() => big.Run(s.Pool, new SyncProgress(p => phases.Add(p.Phase))));
        Assert.Contains("TopKSelector.K = 99 is larger than the pool of 12", e4.Message);
        Assert.Empty(phases);
    }

    /// <summary>Reports synchronously (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SyncProgress(Action<BilevelProgress> report) : IProgress<BilevelProgress>
    {
        public void Report(BilevelProgress value) => report(value);
    }

    /// <summary>An objective that turns NaN once armed.</summary>
    private sealed class PoisonedScorer(IAlignmentScorer inner) : IAlignmentScorer
    {
        public bool Armed { get; set; }
        public string Name => "Poisoned";
        public Tensor Objective(ICausalLM model) => Armed ? inner.Objective(model) * double.NaN : inner.Objective(model);
        public double Score(ICausalLM model, CancellationToken cancellationToken = default) => Armed ? double.NaN : inner.Score(model, cancellationToken);
    }

    /// <summary>GradAscent that returns NaN once armed.</summary>
    private sealed class PoisonedUnlearner : IUnlearner
    {
        public bool Armed { get; set; }
        public string Name => "Poisoned";
        public bool NeedsReference => false;
        public IReadOnlyList<IInnerTerm> InnerTerms => Array.Empty<IInnerTerm>();
        public Tensor PerExampleLoss(SequenceLogProbs policy, SequenceLogProbs? reference)
        {
            var loss = policy.Mean;
            return Armed ? loss * double.NaN : loss;
        }
    }
}
