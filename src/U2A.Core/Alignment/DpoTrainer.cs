using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using U2A.Core.Influence;
using U2A.Core.Models;
using U2A.Core.Training;
using static TorchSharp.torch;
using U2A.Core.Unlearning;

namespace U2A.Core.Alignment;

/// <summary>
/// Direct Preference Optimization (the preference-alignment baseline of U2A) on an <see cref="ICausalLM"/>:
/// minimises the mean per-pair <see cref="DpoLoss"/> over shuffled batches of preference pairs whose reference
/// log-probs are computed once and cached, with the plumbing of <see cref="TrainingLoop"/> (AdamW, schedule,
/// clipping, accumulation, seeded order, cancellation, non-finite guard). Logs TRL's metrics.
/// </summary>
/// <example>
/// <code>
/// using var reference = new ParameterSnapshotReference(model);           // pi_ref = the model now
/// using var pairs = PreferenceBatch.WithReference(chosen, rejected, reference);
/// var trainer = new DpoTrainer(model, new DpoTrainerOptions { Beta = 0.1, BatchSize = 8, Epochs = 3 });
/// var result = trainer.Train(pairs);
/// Console.WriteLine(trainer.Evaluate(pairs).RewardsAccuracies);
/// </code>
/// </example>
public sealed class DpoTrainer
{
    private readonly ICausalLM _model;
    private readonly ILogger _logger;

    /// <summary>Creates a trainer for <paramref name="model"/>'s <see cref="ICausalLM.TrainableParameters"/>.</summary>
    /// <exception cref="ArgumentException">An option is invalid (the message names it).</exception>
    public DpoTrainer(ICausalLM model, DpoTrainerOptions? options = null, ILogger<DpoTrainer>? logger = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        Options = options ?? new DpoTrainerOptions();
        Options.Validate();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The validated options.</summary>
    public DpoTrainerOptions Options { get; }

    /// <summary>The number of optimizer steps a run over <paramref name="pairCount"/> pairs takes.</summary>
    public int StepsFor(int pairCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(pairCount, 1);
        if (Options.MaxSteps is { } s) return s;
        int batches = (pairCount + Options.BatchSize - 1) / Options.BatchSize;
        int accumulation = Options.Training.GradientAccumulationSteps;
        return Math.Max(1, (int)Math.Ceiling((double)Options.Epochs * batches / accumulation));
    }

    /// <summary>
    /// Trains on <paramref name="data"/>. When its reference log-probs are not cached, they are computed first with
    /// <paramref name="reference"/>, or, when that is null, with a snapshot of the model as it is now.
    /// The model is in training mode during the run and in evaluation mode afterwards.
    /// </summary>
    /// <exception cref="NonFiniteLossException">A step's loss or gradient was not finite (parameters left at the last completed step).</exception>
    /// <exception cref="OperationCanceledException">Cancelled (parameters left at the last completed step).</exception>
    public DpoTrainingResult Train(PreferenceBatch data, IReferencePolicy? reference = null,
        IProgress<TrainingStepMetrics>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Chosen.Count != data.Rejected.Count) throw new ArgumentException($"data has {data.Chosen.Count} chosen and {data.Rejected.Count} rejected rows.", nameof(data));
        cancellationToken.ThrowIfCancellationRequested();
        var owned = new List<Tensor>();
        try
        {
            var pairs = EnsureReference(data, reference, owned);
            int totalSteps = StepsFor(pairs.Count);
            var order = new BatchOrder(pairs.Count, Options.BatchSize, Options.Seed, Options.Shuffle);
            using var loop = new TrainingLoop(_model.TrainableParameters, totalSteps, Options.Training);
            _logger.LogInformation("DPO: {Pairs} pairs, {Steps} steps, batch {Batch} x {Accumulation}, beta {Beta}, loss {LossType}",
                pairs.Count, totalSteps, order.BatchSize, Options.Training.GradientAccumulationSteps, Options.Beta, Options.LossType);
            _model.SetTraining(true);
            try
            {
                var history = loop.Run((step, microBatch) => MicroBatchLoss(pairs, order.Batch(loop.MicroBatchIndex(step, microBatch))),
                    new LoggingProgress(this, totalSteps, progress), cancellationToken: cancellationToken);
                return new DpoTrainingResult(history, history.Count);
            }
            finally
            {
                _model.SetTraining(false);
            }
        }
        finally
        {
            foreach (var t in owned) t.Dispose();
        }
    }

    /// <summary>The metrics of all pairs at the model's current parameters (evaluation mode, no gradients, chunks of <paramref name="chunkSize"/> pairs).</summary>
    public DpoMetrics Evaluate(PreferenceBatch data, IReferencePolicy? reference = null, int chunkSize = 64)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        var owned = new List<Tensor>();
        try
        {
            var pairs = EnsureReference(data, reference, owned);
            _model.SetTraining(false);
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            var parts = new List<(SequenceLogProbs C, SequenceLogProbs R)>();
            for (int start = 0; start < pairs.Count; start += chunkSize)
            {
                var idx = Enumerable.Range(start, Math.Min(chunkSize, pairs.Count - start)).Select(i => (long)i).ToArray();
                var chunk = pairs.Select(idx);
                parts.Add((ResponseLogProbs.Compute(_model, chunk.Chosen), ResponseLogProbs.Compute(_model, chunk.Rejected)));
            }
            static SequenceLogProbs Cat(IEnumerable<SequenceLogProbs> xs) => new(cat(xs.Select(x => x.Sum).ToArray(), 0), cat(xs.Select(x => x.TokenCount).ToArray(), 0));
            return DpoMetrics.Compute(Cat(parts.Select(p => p.C)), Cat(parts.Select(p => p.R)), pairs.ReferenceChosen!, pairs.ReferenceRejected!,
                Options.Beta, Options.LossType);
        }
        finally
        {
            foreach (var t in owned) t.Dispose();
        }
    }

    private StepLoss MicroBatchLoss(PreferenceBatch pairs, long[] indices)
    {
        var batch = pairs.Select(indices);   // freed by the loop's dispose scope
        var chosen = ResponseLogProbs.Compute(_model, batch.Chosen);
        GradientGuard.ThrowIfAdaptersOff(_model, chosen.Sum, "DpoTrainer.Train");
        var rejected = ResponseLogProbs.Compute(_model, batch.Rejected);
        var loss = DpoLoss.PerPair(chosen, rejected, batch.ReferenceChosen!, batch.ReferenceRejected!, Options.Beta, Options.LossType).mean();
        var metrics = DpoMetrics.Compute(chosen, rejected, batch.ReferenceChosen!, batch.ReferenceRejected!, Options.Beta, Options.LossType);
        return new StepLoss(loss, metrics.ToDictionary());
    }

    /// <summary>The pairs with reference log-probs: <paramref name="data"/> itself when cached; otherwise a view sharing its tokens whose new log-prob tensors go to <paramref name="owned"/>.</summary>
    private PreferenceBatch EnsureReference(PreferenceBatch data, IReferencePolicy? reference, List<Tensor> owned)
    {
        if (data.ReferenceChosen is not null && data.ReferenceRejected is not null) return data;
        ParameterSnapshotReference? snapshot = null;
        try
        {
            var policy = reference ?? (snapshot = new ParameterSnapshotReference(_model));
            _model.SetTraining(false);
            var c = ForgetBatch.ReferenceLogProbs(data.Chosen, policy, 64);
            owned.AddRange(new[] { c.Sum, c.TokenCount });
            var r = ForgetBatch.ReferenceLogProbs(data.Rejected, policy, 64);
            owned.AddRange(new[] { r.Sum, r.TokenCount });
            return new PreferenceBatch(data.Chosen, data.Rejected, c, r); // a view: never disposed (the caller owns the tokens, `owned` the rest)
        }
        finally
        {
            snapshot?.Dispose();
        }
    }

    private sealed class LoggingProgress(DpoTrainer trainer, int totalSteps, IProgress<TrainingStepMetrics>? inner) : IProgress<TrainingStepMetrics>
    {
        public void Report(TrainingStepMetrics value)
        {
            var logger = trainer._logger;
            int step = value.Step + 1;
            var level = step % trainer.Options.LoggingSteps == 0 || step == totalSteps ? LogLevel.Information : LogLevel.Debug;
            if (logger.IsEnabled(level))
            {
                var m = DpoMetrics.FromDictionary(value.Metrics);
                logger.Log(level, "DPO step {Step}/{TotalSteps}: loss {Loss:F4}, rewards/chosen {RewardsChosen:F4}, rewards/rejected {RewardsRejected:F4}, rewards/accuracies {Accuracy:F3}, rewards/margins {Margin:F4}, logps/chosen {LogpsChosen:F3}, logps/rejected {LogpsRejected:F3}, lr {LearningRate:G3}, grad_norm {GradNorm:G3}",
                    step, totalSteps, m.Loss, m.RewardsChosen, m.RewardsRejected, m.RewardsAccuracies, m.RewardsMargins, m.LogpsChosen, m.LogpsRejected, value.LearningRate, value.GradNorm);
            }
            inner?.Report(value);
        }
    }
}
