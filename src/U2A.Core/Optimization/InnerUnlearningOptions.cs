using U2A.Core.Training;

namespace U2A.Core.Optimization;

/// <summary>The inner unlearning run of each U2A outer iteration: K weighted steps on the selection.</summary>
public sealed record InnerUnlearningOptions
{
    /// <summary>K: inner unlearning steps per outer iteration. At least 1.</summary>
    public int Steps { get; init; } = 100;

    /// <summary>Examples per inner step, drawn from the selection in a seeded order. At least 1.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>The training loop of the inner run; by default <see cref="DefaultLoop"/>. To change one setting keep the
    /// others: <c>Loop = InnerUnlearningOptions.DefaultLoop with { Optimizer = new OptimizerSettings { LearningRate = 1e-3 } }</c>.</summary>
    public TrainingLoopOptions Loop { get; init; } = DefaultLoop;

    /// <summary>The default inner training loop (a new instance each time): AdamW at learning rate 1e-4, a cosine schedule
    /// restarted each outer iteration, gradient clipping at global norm 1 (the U2A reference code's settings).</summary>
    public static TrainingLoopOptions DefaultLoop => new()
    {
        Optimizer = new OptimizerSettings { LearningRate = 1e-4 },
        Schedule = LearningRateSchedule.Cosine(),
        MaxGradNorm = 1.0,
    };

    /// <summary>Stop an inner run when the forget NLL (token-mean NLL of the step's batch) exceeds this for
    /// <see cref="ForgetBoundPatience"/> consecutive steps; null: no bound.</summary>
    public double? MaxForgetNll { get; init; }

    /// <summary>Consecutive steps over <see cref="MaxForgetNll"/> that stop an inner run (reference: 4). At least 1.</summary>
    public int ForgetBoundPatience { get; init; } = 4;

    internal void Validate(string path)
    {
        Require.AtLeastOne(Steps, $"{path}.Steps");
        Require.AtLeastOne(BatchSize, $"{path}.BatchSize");
        Require.NotNull(Loop, $"{path}.Loop").Validate($"{path}.Loop");
        Require.That(Loop.Optimizer.LearningRate > 0, $"{path}.Loop.Optimizer.LearningRate", Loop.Optimizer.LearningRate,
            "must be positive (a zero learning rate unlearns nothing)");
        if (MaxForgetNll is { } bound) Require.Finite(bound, $"{path}.MaxForgetNll");
        Require.AtLeastOne(ForgetBoundPatience, $"{path}.ForgetBoundPatience");
    }
}
