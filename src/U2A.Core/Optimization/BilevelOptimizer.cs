using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using U2A.Core.Alignment;
using U2A.Core.Data;
using U2A.Core.Influence;
using U2A.Core.Models;
using U2A.Core.Selection;
using U2A.Core.Training;
using U2A.Core.Unlearning;
using static TorchSharp.torch;

namespace U2A.Core.Optimization;

/// <summary>
/// The U2A outer loop (u2a-method.md, section 7): score every negative by its influence on the alignment objective J,
/// select and weight the useful ones, unlearn them with those weights from the current parameters, re-score, re-weight
/// by mirror descent, repeat; stop early when the PA score stops improving. The maths lives in the parts it calls:
/// <see cref="IHypergradientEstimator"/> and <see cref="InfluenceScorer"/> (scores), <see cref="IExampleSelector"/>
/// (selection), <see cref="MirrorDescent"/> (weights), <see cref="InnerObjective"/> + <see cref="TrainingLoop"/> (unlearning).
/// </summary>
public sealed class BilevelOptimizer
{
    private readonly ICausalLM _model;
    private readonly InnerObjective _inner;
    private readonly IAlignmentScorer _scorer;
    private readonly IExampleSelector _selector;
    private readonly IHypergradientEstimator _estimator;
    private readonly BilevelOptions _options;
    private readonly ILogger _logger;

    /// <summary>Composes the loop from its parts. Options are validated when <see cref="Run"/> sees the pool.</summary>
    public BilevelOptimizer(ICausalLM model, InnerObjective inner, IAlignmentScorer scorer, IExampleSelector selector,
        IHypergradientEstimator estimator, BilevelOptions? options = null, ILogger<BilevelOptimizer>? logger = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _scorer = scorer ?? throw new ArgumentNullException(nameof(scorer));
        _selector = selector ?? throw new ArgumentNullException(nameof(selector));
        _estimator = estimator ?? throw new ArgumentNullException(nameof(estimator));
        _options = options ?? new BilevelOptions();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>
    /// Runs U2A on the forget pool, updating the model's trainable parameters in place.
    /// </summary>
    /// <param name="pool">The candidate negatives (with cached reference log-probs when the strategy needs them).</param>
    /// <param name="progress">Optional progress reports (phase, step, J, PA score, forget loss).</param>
    /// <param name="resumeFrom">A checkpoint of an interrupted run of the same pool and options, or null.</param>
    /// <param name="cancellationToken">Observed between steps; on cancellation the model keeps the last completed step's parameters.</param>
    /// <exception cref="ArgumentException">An option is invalid for this pool, or <paramref name="resumeFrom"/> does not fit this run
    /// (other settings, pool size, iteration count, parameter count, shape or dtype); the message names the field and both values.</exception>
    /// <exception cref="BilevelNumericalException">A loss, score or objective was not finite; the parameters of the start of that outer iteration are restored.</exception>
    public BilevelResult Run(ForgetBatch pool, IProgress<BilevelProgress>? progress = null, BilevelCheckpoint? resumeFrom = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pool);
        _options.Validate(pool.Count);
        _selector.ValidatePool(pool.Count);
        var clock = new PhaseClock();
        var parameters = _model.TrainableParameters;
        _model.SetTraining(false);
        RunState run;
        if (resumeFrom is null)
        {
            using var start = new ParameterCopy(parameters);
            run = Guarded(start, () => Start(pool, progress, clock, cancellationToken));
        }
        else run = Resume(resumeFrom, pool);
        run.Fingerprint = Fingerprint(pool);
        string stopReason = $"completed {_options.OuterIterations} outer iterations";
        // A resumed run whose last checkpointed iteration already hit the PA patience stops as the uninterrupted one did.
        bool patienceSpent = resumeFrom is not null && run.CompletedIterations > 0 && run.IterationsWithoutImprovement >= _options.PaPatience;
        if (patienceSpent) stopReason = $"PA score did not improve for {run.IterationsWithoutImprovement} outer iteration(s)";
        try
        {
            for (int t = run.CompletedIterations + 1; !patienceSpent && t <= _options.OuterIterations; t++)
            {
                using var lastGood = new ParameterCopy(parameters);
                var (inner, objective, pa) = Guarded(lastGood, () =>
                {
                    var innerRun = clock.Time(BilevelPhase.Unlearn, () => Unlearn(pool, run, t, progress, cancellationToken));
                    if (_options.Reweight)
                    {
                        var scores = clock.Time(BilevelPhase.Score, () => Score(pool, run.Selected, run.Weights, t, progress, cancellationToken));
                        run.Weights = clock.Time(BilevelPhase.Reweight, () => MirrorDescent.Step(run.Weights, scores, _options.WeightLearningRate, _options.SparsityPenalty));
                    }
                    var (j, score) = clock.Time(BilevelPhase.Evaluate, () => Evaluate(t, cancellationToken));
                    return (innerRun, j, score);
                });
                run.History.Add(new OuterIterationRecord(t, objective, pa, inner.Steps, inner.ForgetLoss, inner.ForgetNll, run.Weights.ToArray()));
                progress?.Report(new BilevelProgress(BilevelPhase.Evaluate, t, 0, _options.InnerSteps, objective, pa, inner.ForgetLoss));
                _logger.LogInformation("U2A iteration {Iteration}: J {Objective:G5}, PA {Pa:G5}, {Steps} inner steps, forget NLL {Nll:G4}",
                    t, objective, pa, inner.Steps, inner.ForgetNll);
                run.CompletedIterations = t;
                bool improved = run.TrackBest(pa, t, parameters, _options.RestoreBestParameters);
                if (_options.CheckpointDirectory is { } dir) clock.Time(BilevelPhase.Checkpoint, () => run.ToCheckpoint(parameters).Save(dir));
                if (!improved && run.IterationsWithoutImprovement >= _options.PaPatience)
                {
                    stopReason = $"PA score did not improve for {run.IterationsWithoutImprovement} outer iteration(s)";
                    break;
                }
            }
            if (_options.RestoreBestParameters && run.BestParameters is not null) ParameterVector.CopyInto(parameters, run.BestParameters);
            return new BilevelResult(run.InitialScores, run.Selected, run.Weights, run.History.ToArray(), run.BestIteration, stopReason, clock.Totals);
        }
        finally
        {
            _model.SetTraining(false);
            run.Dispose();
        }
    }

    private RunState Start(ForgetBatch pool, IProgress<BilevelProgress>? progress, PhaseClock clock, CancellationToken ct)
    {
        var all = Enumerable.Range(0, pool.Count).ToArray();
        var uniform = Enumerable.Repeat(1.0 / pool.Count, pool.Count).ToArray();
        var (objective, pa) = clock.Time(BilevelPhase.Evaluate, () => Evaluate(0, ct));
        progress?.Report(new BilevelProgress(BilevelPhase.Evaluate, 0, 0, _options.InnerSteps, objective, pa, null));
        var scores = clock.Time(BilevelPhase.Score, () => Score(pool, all, uniform, 0, progress, ct));
        var selection = clock.Time(BilevelPhase.Select, () => _selector.Select(new SelectionRequest(scores, j => GramColumn(pool, j, ct))))
            ?? throw new InvalidOperationException($"the selector {_selector.Name} returned no selection (null); an IExampleSelector must return a non-empty Selection.");
        selection.ThrowIfOutside(pool.Count, _selector.Name);
        _logger.LogInformation("U2A start: J {Objective:G5}, PA {Pa:G5}; {Selector} selected {Count} of {Pool} negatives",
            objective, pa, _selector.Name, selection.Indices.Count, pool.Count);
        var run = new RunState(scores, selection.Indices.ToArray(), selection.Weights.ToArray());
        run.History.Add(new OuterIterationRecord(0, objective, pa, 0, double.NaN, double.NaN, run.Weights.ToArray()));
        run.TrackBest(pa, 0, _model.TrainableParameters, _options.RestoreBestParameters);
        return run;
    }

    private RunState Resume(BilevelCheckpoint checkpoint, ForgetBatch pool)
    {
        var parameters = _model.TrainableParameters;
        checkpoint.CheckResumable(pool.Count, _options.OuterIterations, parameters, "resumeFrom");
        if (checkpoint.Fingerprint is { } saved && saved != Fingerprint(pool))
            throw new ArgumentException("the checkpoint was written by a run with other settings (BilevelOptions other than OuterIterations, " +
                "the names of the estimator, strategy, inner terms or objective, or the pool size); resuming it would not reproduce that run.", "resumeFrom");
        _logger.LogInformation("U2A resuming after outer iteration {Iteration} from {Source}", checkpoint.CompletedIterations, checkpoint.Source ?? "a checkpoint in memory");
        ParameterVector.CopyInto(parameters, checkpoint.Parameters);
        var run = new RunState(checkpoint.InitialScores, checkpoint.SelectedIndices, checkpoint.Weights)
        {
            CompletedIterations = checkpoint.CompletedIterations,
            BestIteration = checkpoint.BestIteration,
            IterationsWithoutImprovement = checkpoint.IterationsWithoutImprovement,
        };
        run.History.AddRange(checkpoint.History);
        if (checkpoint.BestParameters is not null) run.BestParameters = ParameterVector.Clone(checkpoint.BestParameters);
        run.BestPa = checkpoint.History.First(h => h.Iteration == checkpoint.BestIteration).PaScore;
        return run;
    }

    /// <summary>K weighted unlearning steps on the selection, from the current parameters.</summary>
    private (int Steps, double ForgetLoss, double ForgetNll) Unlearn(ForgetBatch pool, RunState run, int iteration,
        IProgress<BilevelProgress>? progress, CancellationToken ct)
    {
        var selected = run.Selected;
        using var weights = tensor(run.Weights, dtype: ScalarType.Float64, device: _model.Device);
        var order = new BatchOrder(selected.Length, Math.Min(_options.InnerBatchSize, selected.Length), _options.Seed * 1_000_003 + iteration);
        var loopOptions = new TrainingLoopOptions
        {
            Optimizer = _options.InnerOptimizer, Schedule = _options.InnerSchedule, MaxGradNorm = _options.InnerMaxGradNorm,
            Seed = _options.Seed * 7_919 + iteration,
        };
        _model.SetTraining(true);
        using var loop = new TrainingLoop(_model.TrainableParameters, _options.InnerSteps, loopOptions);
        int overBound = 0;
        (double Loss, double Nll) last = (double.NaN, double.NaN);
        StepLoss Loss(int step, int micro)
        {
            var positions = order.Batch(loop.MicroBatchIndex(step, micro));
            using var batch = pool.Select(positions.Select(p => (long)selected[p]).ToArray());
            var losses = _inner.PerExampleLosses(_model, batch, out var policy);
            using var pos = tensor(positions, device: _model.Device);
            var w = weights.index_select(0, pos).to_type(losses.dtype);
            // Unbiased minibatch estimate of sum_{i in S} w_i l_i, plus the strategy's and extra terms.
            var weighted = (losses * w).sum();
            var forget = weighted * ((double)selected.Length / positions.Length);
            var total = forget + _inner.TermsValue(_model);
            // Device tensors: the loop copies them to the host with the loss, in one transfer.
            return new StepLoss(total, MetricTensors: new Dictionary<string, Tensor>
            {
                ["forget_loss"] = weighted / w.sum(), ["forget_nll"] = policy.MeanNll.mean(),
            });
        }
        try
        {
            var history = loop.Run(Loss, new Progress(m =>
            {
                last = (m.Metrics["forget_loss"], m.Metrics["forget_nll"]);
                progress?.Report(new BilevelProgress(BilevelPhase.Unlearn, iteration, m.Step + 1, _options.InnerSteps, null, null, last.Loss));
            }), stopWhen: m =>
            {
                overBound = _options.MaxForgetNll is { } bound && m.Metrics["forget_nll"] > bound ? overBound + 1 : 0;
                return overBound >= _options.ForgetBoundPatience;
            }, cancellationToken: ct);
            return (history.Count, last.Loss, last.Nll);
        }
        catch (NonFiniteLossException e)
        {
            throw new BilevelNumericalException(BilevelPhase.Unlearn, iteration, e.Step + 1, $"non-finite {e.Quantity} ({e.Value})", e);
        }
        finally
        {
            _model.SetTraining(false);
        }
    }

    /// <summary>Influence scores s_i = -dJ/dw_i of the pool examples <paramref name="indices"/> under weights <paramref name="weights"/>.</summary>
    private double[] Score(ForgetBatch pool, IReadOnlyList<int> indices, IReadOnlyList<double> weights, int iteration,
        IProgress<BilevelProgress>? progress, CancellationToken ct)
    {
        progress?.Report(new BilevelProgress(BilevelPhase.Score, iteration, 0, _options.InnerSteps, null, null, null));
        var problem = Problem(pool, indices, weights, iteration);
        using var direction = _estimator.Estimate(problem, ct);
        var scores = Scorer.Score(problem, direction, indices.Select(i => (long)i).ToArray(), ct);
        if (scores.Any(s => !double.IsFinite(s)))
            throw new BilevelNumericalException(BilevelPhase.Score, iteration, 0, "a non-finite influence score");
        return scores;
    }

    /// <summary>Column j of the gradient Gram matrix over the pool: &lt;grad l_i, grad l_j&gt; for every i.</summary>
    private double[] GramColumn(ForgetBatch pool, int j, CancellationToken ct)
    {
        var problem = Problem(pool, new[] { j }, new[] { 1.0 }, 0);
        Tensor[] gj;
        using (var scope = NewDisposeScope())
        {
            gj = problem.Gradient(problem.PerExampleLosses(new long[] { j }).sum());
            ParameterVector.MoveToOuter(gj);
        }
        using var direction = new InfluenceDirection(new[] { new InfluenceTerm(null, gj) });
        return Scorer.Score(problem, direction, ct);
    }

    /// <summary>
    /// A hash of the options (but the run's length and checkpoint folder), the parts' names and the pool size. The parts'
    /// own settings (an NPO beta, a CG damping) are not visible here: keep them fixed across a resume.
    /// </summary>
    private string Fingerprint(ForgetBatch pool)
    {
        var settings = System.Text.Json.JsonSerializer.Serialize(_options with { OuterIterations = 0, CheckpointDirectory = null });
        var text = string.Join("|", settings, _estimator.Name, _inner.Unlearner.Name,
            string.Join(",", _inner.Terms.Select(t => t.Name)), _scorer.Name, pool.Count, _model.TrainableParameters.Count);
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
    }

    private InfluenceScorer Scorer => new(_options.ScoringMethod, _options.ScoringChunkSize, _options.FiniteDifferenceStep);

    /// <summary>The bilevel problem at the current parameters, with the inner objective sampled for Hessian-vector products.</summary>
    private BilevelProblem Problem(ForgetBatch pool, IReadOnlyList<int> indices, IReadOnlyList<double> weights, int iteration)
    {
        var rng = new Random(unchecked((int)(_options.Seed * 31 + iteration)));
        var sample = Enumerable.Range(0, indices.Count).OrderBy(_ => rng.Next()).Take(_options.HessianBatchSize).ToArray();
        double scale = weights.Sum() / sample.Sum(s => weights[s]);
        Tensor InnerLoss()
        {
            using var scope = NewDisposeScope();
            using var batch = pool.Select(sample.Select(s => (long)indices[s]).ToArray());
            var w = tensor(sample.Select(s => weights[s] * scale).ToArray(), dtype: _model.DType, device: _model.Device);
            return _inner.Value(_model, batch, w).MoveToOuterDisposeScope();
        }
        Tensor PerExample(IReadOnlyList<long> idx)
        {
            using var batch = pool.Select(idx);
            return _inner.PerExampleLosses(_model, batch);
        }
        return new BilevelProblem(_model.TrainableParameters, InnerLoss, () => _scorer.Objective(_model), PerExample, pool.Count, objectiveName: _scorer.Name);
    }

    /// <summary>
    /// Runs one outer iteration's phases; on any failure but cancellation (a non-finite value, an estimator that
    /// diverged, ...) puts back the parameters the iteration started from, then rethrows. Cancellation keeps the last
    /// completed step, as documented.
    /// </summary>
    private static T Guarded<T>(ParameterCopy lastGood, Func<T> work)
    {
        try
        {
            return work();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            lastGood.Restore();
            throw;
        }
    }

    private (double Objective, double Pa) Evaluate(int iteration, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        double objective;
        using (no_grad())
        using (var scope = NewDisposeScope())
            objective = _scorer.Objective(_model).to_type(ScalarType.Float64).item<double>();
        double pa = _scorer.Score(_model, ct);
        if (!double.IsFinite(objective) || !double.IsFinite(pa))
            throw new BilevelNumericalException(BilevelPhase.Evaluate, iteration, 0, $"a non-finite objective ({objective}) or PA score ({pa})");
        return (objective, pa);
    }

    private sealed class Progress(Action<TrainingStepMetrics> report) : IProgress<TrainingStepMetrics>
    {
        public void Report(TrainingStepMetrics value) => report(value);
    }

    /// <summary>A detached copy of the trainable parameters.</summary>
    private sealed class ParameterCopy(IReadOnlyList<Tensor> parameters) : IDisposable
    {
        private readonly Tensor[] _values = DetachAll(ParameterVector.Clone(parameters));
        public void Restore() => ParameterVector.CopyInto(parameters, _values);
        public void Dispose() => ParameterVector.DisposeAll(_values);
        private static Tensor[] DetachAll(Tensor[] t) { foreach (var x in t) x.DetachFromDisposeScope(); return t; }
    }

    /// <summary>Time per phase.</summary>
    private sealed class PhaseClock
    {
        private readonly Dictionary<BilevelPhase, TimeSpan> _totals = new();
        public IReadOnlyDictionary<BilevelPhase, TimeSpan> Totals => _totals;
        public T Time<T>(BilevelPhase phase, Func<T> work)
        {
            var sw = Stopwatch.StartNew();
            try { return work(); }
            finally { _totals[phase] = _totals.GetValueOrDefault(phase) + sw.Elapsed; }
        }
        public void Time(BilevelPhase phase, Action work) => Time(phase, () => { work(); return 0; });
    }

    /// <summary>The loop's mutable state: selection, weights, history, best PA so far.</summary>
    private sealed class RunState(double[] initialScores, int[] selected, double[] weights) : IDisposable
    {
        public double[] InitialScores { get; } = initialScores;
        public int[] Selected { get; } = selected;
        public double[] Weights { get; set; } = weights;
        public List<OuterIterationRecord> History { get; } = new();
        public int CompletedIterations { get; set; }
        public int BestIteration { get; set; }
        public double BestPa { get; set; } = double.NegativeInfinity;
        public int IterationsWithoutImprovement { get; set; }
        public Tensor[]? BestParameters { get; set; }
        public string? Fingerprint { get; set; }

        /// <summary>Records a PA score; returns whether it improved on the best so far.</summary>
        public bool TrackBest(double pa, int iteration, IReadOnlyList<Tensor> parameters, bool keepParameters)
        {
            if (pa > BestPa)
            {
                BestPa = pa; BestIteration = iteration; IterationsWithoutImprovement = 0;
                if (keepParameters)
                {
                    if (BestParameters is not null) ParameterVector.DisposeAll(BestParameters);
                    BestParameters = ParameterVector.Clone(parameters);
                    foreach (var t in BestParameters) t.DetachFromDisposeScope();
                }
                return true;
            }
            IterationsWithoutImprovement++;
            return false;
        }

        /// <summary>A checkpoint that borrows the live tensors: save it, never dispose it.</summary>
        public BilevelCheckpoint ToCheckpoint(IReadOnlyList<Tensor> parameters) => new()
        {
            CompletedIterations = CompletedIterations, InitialScores = InitialScores, SelectedIndices = Selected,
            Weights = Weights, History = History.ToArray(), BestIteration = BestIteration,
            IterationsWithoutImprovement = IterationsWithoutImprovement,
            Parameters = parameters.ToArray(), BestParameters = BestParameters, Fingerprint = Fingerprint,
        };

        public void Dispose()
        {
            if (BestParameters is not null) ParameterVector.DisposeAll(BestParameters);
        }
    }
}
