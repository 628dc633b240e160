using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using U2A.Core.Alignment;
using U2A.Core.Influence;
using U2A.Core.Models;
using U2A.Core.Selection;
using static TorchSharp.torch;

namespace U2A.Core.Optimization;

/// <summary>
/// The U2A outer loop (docs/method.md): score every negative by its influence on the alignment objective J, select and
/// weight the useful ones, unlearn them with those weights from the current parameters, re-score, re-weight by mirror
/// descent, repeat; stop when the PA score stops improving. Each step is a part: <see cref="IHypergradientEstimator"/>
/// and <see cref="InfluenceScorer"/> (score), <see cref="IExampleSelector"/> (select), <see cref="MirrorDescent"/>
/// (re-weight), the <see cref="UnlearningProblem"/>'s inner objective and a training loop (unlearn), an
/// <see cref="IAlignmentEvaluator"/> (the PA score).
/// </summary>
public sealed class BilevelOptimizer
{
    private readonly UnlearningProblem _problem;
    private readonly IExampleSelector _selector;
    private readonly IHypergradientEstimator _estimator;
    private readonly IAlignmentEvaluator _evaluator;
    private readonly BilevelOptions _options;
    private readonly ILogger _logger;

    /// <summary>Composes the loop from its parts.</summary>
    /// <param name="problem">The bilevel problem: model, forget pool, inner objective L and outer objective J.</param>
    /// <param name="selector">Chooses the negatives to unlearn and their starting weights from the influence scores.</param>
    /// <param name="estimator">Approximates the inverse-Hessian-vector product of the hypergradient.</param>
    /// <param name="evaluator">The reported PA score (higher is better), for logs, early stopping and the best parameters.</param>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <param name="logger">Optional logger.</param>
    /// <exception cref="ArgumentException">An option is invalid for the problem's pool, or the selector refuses the pool; the message names the field.</exception>
    public BilevelOptimizer(UnlearningProblem problem, IExampleSelector selector, IHypergradientEstimator estimator,
        IAlignmentEvaluator evaluator, BilevelOptions? options = null, ILogger<BilevelOptimizer>? logger = null)
    {
        _problem = problem ?? throw new ArgumentNullException(nameof(problem));
        _selector = selector ?? throw new ArgumentNullException(nameof(selector));
        _estimator = estimator ?? throw new ArgumentNullException(nameof(estimator));
        _evaluator = evaluator ?? throw new ArgumentNullException(nameof(evaluator));
        _options = options ?? new BilevelOptions();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _options.Validate(problem.Pool.Count);
        _selector.ValidatePool(problem.Pool.Count);
    }

    /// <summary>Runs U2A, updating the model's trainable parameters in place.</summary>
    /// <param name="progress">Optional progress reports (phase, step, J, PA score, forget loss).</param>
    /// <param name="resumeFrom">A checkpoint of an interrupted run of the same problem and options, or null.</param>
    /// <param name="cancellationToken">Observed between steps; on cancellation the model keeps the last completed step's parameters.</param>
    /// <exception cref="ArgumentException"><paramref name="resumeFrom"/> does not fit this run (other settings, pool size, iteration count,
    /// parameter count, shape or dtype); the message names the field and both values.</exception>
    /// <exception cref="BilevelNumericalException">A loss, score or objective was not finite; the parameters of the start of that outer iteration are restored.</exception>
    public BilevelResult Run(IProgress<BilevelProgress>? progress = null, BilevelCheckpoint? resumeFrom = null, CancellationToken cancellationToken = default)
    {
        var clock = new PhaseClock();
        var parameters = _problem.Model.TrainableParameters;
        var scoring = new InfluenceScoring(_problem, _estimator, _options.Scoring, _options.Seed, _logger);
        var unlearning = new InnerUnlearning(_problem, _options.Inner, _options.Seed);
        _problem.Model.SetTraining(false);
        using var state = resumeFrom is null ? Start(scoring, clock, progress, cancellationToken) : Resume(resumeFrom);
        for (int t = state.CompletedIterations + 1; t <= _options.OuterIterations && !PatienceSpent(state); t++)
        {
            using var lastGood = new ParameterCopy(parameters);
            var record = lastGood.Guard(() =>
            {
                var inner = clock.Time(BilevelPhase.Unlearn, () => unlearning.Run(state.Selected, state.Weights, t, progress, cancellationToken));
                if (_options.Weighting.Reweight)
                {
                    var scores = clock.Time(BilevelPhase.Score, () => Scores(scoring, state.Selected, state.Weights, t, progress, cancellationToken));
                    state.Weights = clock.Time(BilevelPhase.Reweight, () => MirrorDescent.Step(state.Weights, scores, _options.Weighting.LearningRate, _options.Weighting.SparsityPenalty));
                }
                var (j, pa) = clock.Time(BilevelPhase.Evaluate, () => Evaluate(t, cancellationToken));
                return new OuterIterationRecord(t, j, pa, inner.Steps, inner.ForgetLoss, inner.ForgetNll, state.Weights.ToArray());
            });
            state.Record(record, parameters, _options.Stopping.RestoreBestParameters);
            progress?.Report(new BilevelProgress(BilevelPhase.Evaluate, t, 0, _options.Inner.Steps, record.Objective, record.PaScore, record.ForgetLoss));
            _logger.LogInformation("U2A iteration {Iteration}: J {Objective:G5}, PA {Pa:G5}, {Steps} inner steps, forget NLL {Nll:G4}",
                t, record.Objective, record.PaScore, record.InnerSteps, record.ForgetNll);
            if (_options.CheckpointDirectory is { } dir) clock.Time(BilevelPhase.Checkpoint, () => state.ToCheckpoint(parameters).Save(dir));
        }
        if (_options.Stopping.RestoreBestParameters && state.BestParameters is not null) ParameterVector.CopyInto(parameters, state.BestParameters);
        string stopReason = PatienceSpent(state)
            ? $"PA score did not improve for {state.IterationsWithoutImprovement} outer iteration(s)"
            : $"completed {_options.OuterIterations} outer iterations";
        return state.ToResult(stopReason, clock.Totals);
    }

    private bool PatienceSpent(OuterLoopState state) =>
        state.CompletedIterations > 0 && state.IterationsWithoutImprovement >= _options.Stopping.PaPatience;

    /// <summary>Iteration 0: evaluate, score the whole pool under uniform weights, select.</summary>
    private OuterLoopState Start(InfluenceScoring scoring, PhaseClock clock, IProgress<BilevelProgress>? progress, CancellationToken ct)
    {
        int n = _problem.Pool.Count;
        using var start = new ParameterCopy(_problem.Model.TrainableParameters);
        return start.Guard(() =>
        {
            var (j, pa) = clock.Time(BilevelPhase.Evaluate, () => Evaluate(0, ct));
            progress?.Report(new BilevelProgress(BilevelPhase.Evaluate, 0, 0, _options.Inner.Steps, j, pa, null));
            var scores = clock.Time(BilevelPhase.Score, () => Scores(scoring, Enumerable.Range(0, n).ToArray(), Enumerable.Repeat(1.0 / n, n).ToArray(), 0, progress, ct));
            var selection = clock.Time(BilevelPhase.Select, () => _selector.Select(new SelectionRequest(scores, i => scoring.GramColumn(i, ct))))
                ?? throw new InvalidOperationException($"the selector {_selector.Name} returned no selection (null); an IExampleSelector must return a non-empty ExampleSelection.");
            selection.ThrowIfOutside(n, _selector.Name);
            _logger.LogInformation("U2A start: J {Objective:G5}, PA {Pa:G5}; {Selector} selected {Count} of {Pool} negatives",
                j, pa, _selector.Name, selection.Indices.Count, n);
            var state = new OuterLoopState(scores, selection.Indices.ToArray(), selection.Weights.ToArray(), Fingerprint());
            state.Record(new OuterIterationRecord(0, j, pa, 0, double.NaN, double.NaN, state.Weights.ToArray()), _problem.Model.TrainableParameters,
                _options.Stopping.RestoreBestParameters);
            return state;
        });
    }

    private OuterLoopState Resume(BilevelCheckpoint checkpoint)
    {
        var parameters = _problem.Model.TrainableParameters;
        checkpoint.CheckResumable(_problem.Pool.Count, _options.OuterIterations, parameters, "resumeFrom");
        var fingerprint = Fingerprint();
        if (checkpoint.Fingerprint is { } saved && saved != fingerprint)
            throw new ArgumentException("the checkpoint was written by a run with other settings (BilevelOptions other than OuterIterations and CheckpointDirectory, " +
                "the names of the estimator, inner objective, its terms, the objective J or the evaluator, the pool's size or tokens, or the model's starting " +
                "parameters); resuming it would not reproduce that run. Resume with the problem built exactly as for the interrupted run.", "resumeFrom");
        _logger.LogInformation("U2A resuming after outer iteration {Iteration} from {Source}", checkpoint.CompletedIterations, checkpoint.Source ?? "a checkpoint in memory");
        ParameterVector.CopyInto(parameters, checkpoint.Parameters);
        return OuterLoopState.FromCheckpoint(checkpoint, fingerprint);
    }

    private double[] Scores(InfluenceScoring scoring, IReadOnlyList<int> indices, IReadOnlyList<double> weights, int iteration,
        IProgress<BilevelProgress>? progress, CancellationToken ct)
    {
        progress?.Report(new BilevelProgress(BilevelPhase.Score, iteration, 0, _options.Inner.Steps, null, null, null));
        return scoring.Scores(indices, weights, iteration, ct);
    }

    /// <summary>J (without gradients) and the PA score at the current parameters.</summary>
    private (double Objective, double Pa) Evaluate(int iteration, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        double j, pa;
        // Forward-only: no gradients, the fused attention kernel, and a LoRA model's adapters merged once for J and PA.
        using (ForwardOnlyPasses.Enter(_problem.Model))
        {
            using (NewDisposeScope())
                j = _problem.Objective.Objective(_problem.Model).to_type(ScalarType.Float64).item<double>();
            pa = _evaluator.Evaluate(_problem.Model, ct);
        }
        if (!double.IsFinite(j))
            throw new BilevelNumericalException(BilevelPhase.Evaluate, iteration, 0, $"a non-finite objective J ({j}) from '{_problem.Objective.Name}'");
        if (!double.IsFinite(pa))
            throw new BilevelNumericalException(BilevelPhase.Evaluate, iteration, 0, $"a non-finite PA score ({pa}) from the evaluator '{_evaluator.Name}'");
        return (j, pa);
    }

    /// <summary>
    /// A hash of the options (but the run's length and checkpoint folder), the parts' names and the sizes. The parts' own
    /// settings (an NPO beta, a CG damping) are not visible here: keep them fixed across a resume.
    /// </summary>
    private string Fingerprint()
    {
        var settings = System.Text.Json.JsonSerializer.Serialize(_options with { OuterIterations = 0, CheckpointDirectory = null });
        var text = string.Join("|", settings, _estimator.Name, _problem.Inner.Name, string.Join(",", _problem.Inner.Terms.Select(t => t.Name)),
            _problem.Objective.Name, _evaluator.Name, _problem.Pool.Count, _problem.Model.TrainableParameters.Count);
        // The pool's tokens and the parameters the run starts from (a resume reads them before it restores the checkpoint's),
        // so that a checkpoint of another problem with the same settings and sizes is refused too.
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(text));
        using (no_grad())
        using (NewDisposeScope())
        {
            hash.AppendData(_problem.Pool.Tokens.InputIds.cpu().bytes);
            foreach (var p in _problem.Model.TrainableParameters) hash.AppendData(p.detach().cpu().bytes);
        }
        return Convert.ToHexString(hash.GetHashAndReset());
    }
}
