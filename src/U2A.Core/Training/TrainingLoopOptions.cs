namespace U2A.Core.Training;

/// <summary>
/// Settings of a <see cref="TrainingLoop"/>: optimizer, learning-rate schedule, gradient clipping, gradient
/// accumulation and seed. The number of steps is given to the loop itself (the schedule needs it).
/// </summary>
public sealed record TrainingLoopOptions
{
    /// <summary>The optimizer and its hyper-parameters.</summary>
    public OptimizerSettings Optimizer { get; init; } = new();

    /// <summary>The learning-rate schedule applied to <see cref="OptimizerSettings.LearningRate"/>.</summary>
    public LearningRateSchedule Schedule { get; init; } = new();

    /// <summary>Clip the global L2 norm of the gradients to this value before each update; null = no clipping (the norm is still measured and reported).</summary>
    public double? MaxGradNorm { get; init; }

    /// <summary>Micro-batches per optimizer step. The loop calls the loss function once per micro-batch and backpropagates <c>loss / N</c>, so the accumulated gradient is the mean of the micro-batch gradients.</summary>
    public int GradientAccumulationSteps { get; init; } = 1;

    /// <summary>When set, the loop calls <c>torch.manual_seed(Seed)</c> on construction (dropout and other torch randomness); data orders should use the same seed (see <see cref="BatchOrder"/>).</summary>
    public long? Seed { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field (nested settings included).</summary>
    public void Validate()
    {
        if (Optimizer is null) throw new ArgumentException("TrainingLoopOptions.Optimizer must not be null.");
        if (Schedule is null) throw new ArgumentException("TrainingLoopOptions.Schedule must not be null.");
        Optimizer.Validate();
        Schedule.Validate();
        if (MaxGradNorm is { } m && !(m > 0 && !double.IsInfinity(m))) throw new ArgumentException($"TrainingLoopOptions.MaxGradNorm must be positive and finite (or null), got {m}.");
        if (GradientAccumulationSteps < 1) throw new ArgumentException($"TrainingLoopOptions.GradientAccumulationSteps must be at least 1, got {GradientAccumulationSteps}.");
    }
}
