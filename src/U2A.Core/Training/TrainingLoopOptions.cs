namespace U2A.Core.Training;

/// <summary>
/// Settings of a <see cref="TrainingLoop"/>: optimizer, learning-rate schedule, gradient clipping and gradient
/// accumulation. The number of steps is given to the loop itself (the schedule needs it). The loop draws no random
/// numbers: data orders are the caller's (see <see cref="BatchOrder"/>, seeded explicitly).
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

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field (nested settings included).</summary>
    public void Validate() => Validate(nameof(TrainingLoopOptions));

    internal void Validate(string path)
    {
        Require.NotNull(Optimizer, $"{path}.Optimizer").Validate($"{path}.Optimizer");
        Require.NotNull(Schedule, $"{path}.Schedule").Validate($"{path}.Schedule");
        if (MaxGradNorm is { } m) Require.Positive(m, $"{path}.MaxGradNorm");
        Require.AtLeastOne(GradientAccumulationSteps, $"{path}.GradientAccumulationSteps");
    }
}
