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
        public DpoObjective Scorer = null!;
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

    private static BilevelOptions Options(int outer = 3, int inner = 4, bool restoreBest = true, bool reweight = true, double innerLearningRate = 1e-3) => new()
    {
        OuterIterations = outer, Seed = 5,
        Inner = new InnerUnlearningOptions
        {
            Steps = inner, BatchSize = 4, Loop = InnerUnlearningOptions.DefaultLoop with { Optimizer = new OptimizerSettings { LearningRate = innerLearningRate } },
        },
        Weighting = new WeightingOptions { LearningRate = 0.5, Reweight = reweight },
        Stopping = new StoppingOptions { PaPatience = 100, RestoreBestParameters = restoreBest },
    };

    private static BilevelOptimizer Optimizer(Setup s, BilevelOptions options, IUnlearner? unlearner = null, IAlignmentScorer? scorer = null,
        IHypergradientEstimator? estimator = null, IExampleSelector? selector = null, ICausalLM? model = null)
    {
        var j = scorer ?? s.Scorer;
        var problem = new UnlearningProblem(model ?? s.Model, s.Pool, new InnerObjective(unlearner ?? new GradAscent()), j);
        return new(problem, selector ?? new TopKSelector(6), estimator ?? new IdentityEstimator(), (IAlignmentEvaluator)j, options);
    }


    [Fact]
    public void The_influence_view_carries_the_pool_lengths_and_a_forward_only_scope()
    {
        using var s = Make();
        var problem = new UnlearningProblem(s.Model, s.Pool, new InnerObjective(new GradAscent()), s.Scorer)
            .AtWeights(new[] { 0, 1 }, new[] { 0.5, 0.5 }, hessianBatchSize: 2, sampleSeed: 1);
        Assert.Equal(s.Pool.Tokens.SpanLengths, problem.ExampleLengths);
        Assert.True(torch.is_grad_enabled());
        using (problem.ForwardOnly!()) Assert.False(torch.is_grad_enabled());
        Assert.True(torch.is_grad_enabled());
    }

    [Fact]
    public void Run_selects_weights_and_records_every_iteration()
    {
        using var s = Make();
        var result = Optimizer(s, Options()).Run();
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
        var start = ParameterValues.Of(a.Model);
        var ra = Optimizer(a, Options(restoreBest: false)).Run();
        using var b = Make();
        var rb = Optimizer(b, Options(restoreBest: false)).Run();
        Assert.Equal(ra.Weights, rb.Weights);
        Assert.Equal(ParameterValues.Of(a.Model), ParameterValues.Of(b.Model));
        // Not trivially equal: the run moved the parameters and the weights away from their start, and another seed
        // (another inner batch order) ends elsewhere.
        Assert.True(ParameterValues.MaxAbsDifference(start, ParameterValues.Of(a.Model)) > 0, "training left the parameters at their start");
        Assert.NotEqual(Enumerable.Repeat(1.0 / ra.Weights.Count, ra.Weights.Count), ra.Weights);
        using var c = Make();
        Optimizer(c, Options(restoreBest: false) with { Seed = 6 }).Run();
        Assert.True(ParameterValues.MaxAbsDifference(ParameterValues.Of(a.Model), ParameterValues.Of(c.Model)) > 0, "seed 6 ended where seed 5 did");
    }

    [Fact]
    public void Resumed_run_ends_bitwise_identical_to_an_uninterrupted_one()
    {
        // RestoreBestParameters off: the final parameters are those of the last iteration, which the resumed run must recompute.
        var options = Options(restoreBest: false);
        using var a = Make();
        var full = Optimizer(a, options).Run();

        using var b = Make();
        string dir = Path.Combine(_dir, "ckpt");
        using var cts = new CancellationTokenSource();
        var stopAfterFirst = new SyncProgress<BilevelProgress>(p => { if (p.Phase == BilevelPhase.Unlearn && p.OuterIteration == 2) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => Optimizer(b, options with { CheckpointDirectory = dir }).Run(stopAfterFirst, cancellationToken: cts.Token));

        using var c = Make(); // a fresh process would start from scratch like this
        using var checkpoint = BilevelCheckpoint.Load(dir);
        Assert.Equal(1, checkpoint.CompletedIterations);
        // Iterations 2 and 3 move the parameters on: a resume that only loaded the checkpoint would not match the full run.
        Assert.NotEqual(checkpoint.Parameters.Select(t => t.data<float>().ToArray()).ToArray(), ParameterValues.Of(a.Model));
        Assert.NotEqual(ParameterValues.Of(c.Model), ParameterValues.Of(a.Model)); // a fresh model: nothing is shared with the finished run
        var resumed = Optimizer(c, options).Run(resumeFrom: checkpoint);
        Assert.Equal(full.Weights, resumed.Weights);
        Assert.Equal(full.SelectedIndices, resumed.SelectedIndices);
        Assert.Equal(full.History.Select(h => h.PaScore), resumed.History.Select(h => h.PaScore));
        Assert.Equal(full.History.Select(h => h.Objective), resumed.History.Select(h => h.Objective));
        Assert.Equal(ParameterValues.Of(a.Model), ParameterValues.Of(c.Model));

        // A checkpoint is refused by a run with other settings.
        using var d = Make();
        using var again = BilevelCheckpoint.Load(dir);
        var e = Assert.Throws<ArgumentException>(() => Optimizer(d, options with { Inner = options.Inner with { Steps = 5 } }).Run(resumeFrom: again));
        Assert.Contains("other settings", e.Message);
    }

    [Fact]
    public void Cancellation_mid_inner_loop_keeps_the_last_completed_steps_parameters()
    {
        using var s = Make();
        using var cts = new CancellationTokenSource();
        float[][]? afterStep2 = null;
        var progress = new SyncProgress<BilevelProgress>(p =>
        {
            if (p.Phase == BilevelPhase.Unlearn && p.OuterIteration == 1 && p.Step == 2) { afterStep2 = ParameterValues.Of(s.Model); cts.Cancel(); }
        });
        Assert.ThrowsAny<OperationCanceledException>(() => Optimizer(s, Options()).Run(progress, cancellationToken: cts.Token));
        Assert.NotNull(afterStep2);
        Assert.Equal(afterStep2, ParameterValues.Of(s.Model));
    }

    [Fact]
    public void Non_finite_loss_stops_with_phase_and_step_and_restores_the_parameters_of_the_iterations_start()
    {
        using var s = Make();
        var poison = new PoisonedUnlearner();
        float[][]? atIterationStart = null;
        var progress = new SyncProgress<BilevelProgress>(p =>
        {
            if (p.Phase == BilevelPhase.Evaluate && p.OuterIteration == 1) atIterationStart = ParameterValues.Of(s.Model);
            if (p.Phase == BilevelPhase.Unlearn && p.OuterIteration == 2 && p.Step == 2) poison.Armed = true;
        });
        var e = Assert.Throws<BilevelNumericalException>(() => Optimizer(s, Options(reweight: false, restoreBest: false), poison).Run(progress));
        Assert.Equal(BilevelPhase.Unlearn, e.Phase);
        Assert.Equal(2, e.OuterIteration);
        Assert.Equal(3, e.Step);
        Assert.Contains("inner step 3", e.Message);
        Assert.NotNull(atIterationStart);
        Assert.Equal(atIterationStart, ParameterValues.Of(s.Model));
    }

    [Theory]
    [InlineData(true, BilevelPhase.Score)]
    [InlineData(false, BilevelPhase.Evaluate)]
    public void Non_finite_objective_stops_in_its_phase_and_restores_the_parameters_of_the_iterations_start(bool reweight, BilevelPhase phase)
    {
        using var s = Make();
        var scorer = new PoisonedScorer(s.Scorer);
        float[][]? atIterationStart = null;
        var progress = new SyncProgress<BilevelProgress>(p =>
        {
            if (p.Phase == BilevelPhase.Evaluate && p.OuterIteration == 1) atIterationStart = ParameterValues.Of(s.Model);
            if (p.Phase == BilevelPhase.Unlearn && p.OuterIteration == 2 && p.Step == 4) scorer.Armed = true;
        });
        var optimizer = Optimizer(s, Options(reweight: reweight, restoreBest: false), scorer: scorer);
        var e = Assert.Throws<BilevelNumericalException>(() => optimizer.Run(progress));
        Assert.Equal(phase, e.Phase);
        Assert.Equal(2, e.OuterIteration);
        Assert.NotNull(atIterationStart);
        Assert.Equal(atIterationStart, ParameterValues.Of(s.Model));
    }

    [Fact]
    public void An_estimator_failure_after_the_inner_run_restores_the_iterations_starting_parameters()
    {
        using var s = Make();
        var before = ParameterValues.Of(s.Model);
        var estimator = new FailingEstimator(new IdentityEstimator());
        var progress = new SyncProgress<BilevelProgress>(p => { if (p.Phase == BilevelPhase.Unlearn && p.OuterIteration == 1 && p.Step == 4) estimator.Armed = true; });
        var optimizer = Optimizer(s, Options(), estimator: estimator);
        Assert.Contains("diverged", Assert.Throws<InvalidOperationException>(() => optimizer.Run(progress)).Message);
        Assert.Equal(before, ParameterValues.Of(s.Model)); // the inner run of iteration 1 moved them; the failure put them back
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
        var progress = new SyncProgress<BilevelProgress>(p => { if (p.Phase == BilevelPhase.Evaluate) counts.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount); });
        var options = Options(outer: 20, inner: 10) with { CheckpointDirectory = Path.Combine(_dir, "mem") };
        Optimizer(s, options).Run(progress);
        Assert.Equal(21, counts.Count);
        // After the first iterations warm up, every outer iteration (10 inner steps, scoring, reweighting,
        // evaluation, a checkpoint) must end with the same number of live tensors.
        Assert.True(counts[20] <= counts[2], $"live tensors grew: {string.Join(", ", counts)}");
    }

    [Fact]
    public void Forget_bound_stops_an_inner_run_after_the_patience_steps()
    {
        using var s = Make();
        // Any forget NLL exceeds -1, so the bound is passed from the first step: the run stops after `patience` steps.
        var o = Options(outer: 1, inner: 10);
        var result = Optimizer(s, o with { Inner = o.Inner with { MaxForgetNll = -1, ForgetBoundPatience = 2 } }).Run();
        Assert.Equal(2, result.History[1].InnerSteps);
        using var t = Make();
        var three = Optimizer(t, o with { Inner = o.Inner with { MaxForgetNll = -1, ForgetBoundPatience = 3 } }).Run();
        Assert.Equal(3, three.History[1].InnerSteps);
        // A bound above every forget NLL seen is never passed: the run takes all 10 steps.
        using var u = Make();
        var never = Optimizer(u, o with { Inner = o.Inner with { MaxForgetNll = 1e6, ForgetBoundPatience = 2 } }).Run();
        Assert.Equal(10, never.History[1].InnerSteps);
    }

    [Fact]
    public void With_lora_only_the_adapters_move_and_are_checkpointed()
    {
        using var s = Make();
        var baseValues = s.Model.parameters().Select(p => p.detach().clone()).ToArray();
        using var lora = new U2A.Core.Models.Lora.LoraModel(s.Model, new U2A.Core.Models.Lora.LoraOptions { TargetModules = new[] { "c_attn" }, Rank = 2 });
        var scorer = new DpoObjective(s.Prefs);
        string dir = Path.Combine(_dir, "lora");
        var optimizer = Optimizer(s, Options(outer: 1, inner: 3, restoreBest: false, innerLearningRate: 1e-2) with { CheckpointDirectory = dir }, scorer: scorer, model: lora);
        optimizer.Run();
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
        var o = Options();
        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => Optimizer(s, o with { Inner = o.Inner with { Steps = 0 } }));
        Assert.Equal("BilevelOptions.Inner.Steps", e1.ParamName);
        Assert.Contains("BilevelOptions.Inner.Steps must be at least 1, got 0", e1.Message);
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => Optimizer(s, o with { Weighting = o.Weighting with { LearningRate = -1 } }));
        Assert.Equal("BilevelOptions.Weighting.LearningRate", e2.ParamName);
        var e3 = Assert.Throws<ArgumentException>(() => Optimizer(s, Options(innerLearningRate: 0)));
        Assert.Equal("BilevelOptions.Inner.Loop.Optimizer.LearningRate", e3.ParamName);
        var e5 = Assert.Throws<ArgumentException>(() => Optimizer(s, o with { Stopping = null! }));
        Assert.Equal("BilevelOptions.Stopping", e5.ParamName);
        // A budget larger than the pool is refused when the optimizer is built, before any scoring work.
        var e4 = Assert.Throws<ArgumentException>(() => Optimizer(s, Options(), selector: new TopKSelector(99)));
        Assert.Contains("TopKSelector.K = 99 is larger than the pool of 12", e4.Message);
    }

    /// <summary>Reports synchronously (Progress&lt;T&gt; would post to the thread pool).</summary>
    /// <summary>An objective that turns NaN once armed.</summary>
    private sealed class PoisonedScorer(IAlignmentScorer inner) : IAlignmentScorer, IAlignmentEvaluator
    {
        public bool Armed { get; set; }
        public string Name => "Poisoned";
        public Tensor Objective(ICausalLM model) => Armed ? inner.Objective(model) * double.NaN : inner.Objective(model);
        public double Evaluate(ICausalLM model, CancellationToken cancellationToken = default) => Armed ? double.NaN : ((IAlignmentEvaluator)inner).Evaluate(model, cancellationToken);
    }

    /// <summary>GradAscent that returns NaN once armed.</summary>
    private sealed class PoisonedUnlearner : IUnlearner
    {
        public bool Armed { get; set; }
        public string Name => "Poisoned";
        public bool NeedsReference => false;
        public Tensor PerExampleLoss(SequenceLogProbs policy, SequenceLogProbs? reference)
        {
            var loss = policy.Mean;
            return Armed ? loss * double.NaN : loss;
        }
    }
}
