using U2A.Core.Training;

namespace U2A.Core.Alignment;

/// <summary>
/// Settings of a <see cref="DpoTrainer"/>. Defaults follow TRL's <c>DPOConfig</c>: beta 0.1, sigmoid loss,
/// AdamW at 1e-6 with a linear schedule, gradient norm clipped to 1, seed 42.
/// </summary>
public sealed record DpoTrainerOptions
{
    /// <summary>The temperature beta of the implicit reward <c>beta * (lp_theta - lp_ref)</c>.</summary>
    public double Beta { get; init; } = 0.1;

    /// <summary>The loss variant (see <see cref="DpoLoss"/>; all use summed response log-probs).</summary>
    public DpoLossType LossType { get; init; } = DpoLossType.Sigmoid;

    /// <summary>Preference pairs per micro-batch (the optimizer step sees <c>BatchSize * GradientAccumulationSteps</c> pairs).</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Passes over the data; ignored when <see cref="MaxSteps"/> is set.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Optimizer steps to run; null = <c>ceil(Epochs * batches per epoch / GradientAccumulationSteps)</c>.</summary>
    public int? MaxSteps { get; init; }

    /// <summary>Whether each epoch visits the pairs in a seeded random order (otherwise in data order).</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Log the TRL metrics at Information level every this many steps (every step at Debug level).</summary>
    public int LoggingSteps { get; init; } = 10;

    /// <summary>Seed of the data order (the trainer draws no other random numbers).</summary>
    public long Seed { get; init; } = 42;

    /// <summary>Optimizer, schedule, clipping and accumulation.</summary>
    public TrainingLoopOptions Training { get; init; } = new()
    {
        Optimizer = new OptimizerSettings { LearningRate = 1e-6 },
        Schedule = LearningRateSchedule.Linear(),
        MaxGradNorm = 1.0,
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field (nested settings included).</summary>
    public void Validate()
    {
        Require.Positive(Beta, "DpoTrainerOptions.Beta");
        Require.Defined(LossType, "DpoTrainerOptions.LossType");
        Require.AtLeastOne(BatchSize, "DpoTrainerOptions.BatchSize");
        Require.AtLeastOne(Epochs, "DpoTrainerOptions.Epochs");
        if (MaxSteps is { } max) Require.AtLeastOne(max, "DpoTrainerOptions.MaxSteps");
        Require.AtLeastOne(LoggingSteps, "DpoTrainerOptions.LoggingSteps");
        Require.NotNull(Training, "DpoTrainerOptions.Training").Validate("DpoTrainerOptions.Training");
    }
}
