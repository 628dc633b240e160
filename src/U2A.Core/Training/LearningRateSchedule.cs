using TorchSharp;

namespace U2A.Core.Training;

/// <summary>
/// A learning-rate schedule as a pure function of the 0-based optimizer step <c>s</c> and the total number of
/// steps <c>T</c>, with Hugging Face's formulas: during warm-up (<c>s &lt; W</c>) the factor is <c>s / W</c> (so
/// the first step of a warm-up runs at rate 0, as in <c>transformers</c>); afterwards, with
/// <c>p = (s - W) / (T - W)</c>, it is 1 (constant), <c>max(0, 1 - p)</c> (linear) or
/// <c>m + (1 - m) * 0.5 * (1 + cos(pi * p))</c> (cosine, <c>m</c> = <see cref="MinLearningRateRatio"/>).
/// </summary>
public sealed record LearningRateSchedule
{
    /// <summary>The shape after warm-up.</summary>
    public LearningRateScheduleKind Kind { get; init; } = LearningRateScheduleKind.Constant;

    /// <summary>Warm-up steps <c>W</c>; when 0, <see cref="WarmupRatio"/> decides.</summary>
    public int WarmupSteps { get; init; }

    /// <summary>Warm-up as a fraction of the total steps (<c>W = ceil(ratio * T)</c>), used when <see cref="WarmupSteps"/> is 0.</summary>
    public double WarmupRatio { get; init; }

    /// <summary>The cosine schedule's floor as a fraction of the base rate (0 = Hugging Face <c>cosine</c>).</summary>
    public double MinLearningRateRatio { get; init; }

    /// <summary>Linear warm-up then constant.</summary>
    public static LearningRateSchedule Constant(int warmupSteps = 0) => new() { Kind = LearningRateScheduleKind.Constant, WarmupSteps = warmupSteps };

    /// <summary>Linear warm-up then linear decay to 0.</summary>
    public static LearningRateSchedule Linear(int warmupSteps = 0) => new() { Kind = LearningRateScheduleKind.Linear, WarmupSteps = warmupSteps };

    /// <summary>Linear warm-up then cosine decay (the U2A reference inner loop's schedule).</summary>
    public static LearningRateSchedule Cosine(int warmupSteps = 0, double minLearningRateRatio = 0) =>
        new() { Kind = LearningRateScheduleKind.Cosine, WarmupSteps = warmupSteps, MinLearningRateRatio = minLearningRateRatio };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate() => Validate(nameof(LearningRateSchedule));

    internal void Validate(string path)
    {
        Require.Defined(Kind, $"{path}.Kind");
        Require.AtLeast(WarmupSteps, 0, $"{path}.WarmupSteps");
        Require.InRange(WarmupRatio, 0, 1, $"{path}.WarmupRatio");
        Require.InRange(MinLearningRateRatio, 0, 1, $"{path}.MinLearningRateRatio");
    }

    /// <summary>The warm-up length <c>W</c> for a run of <paramref name="totalSteps"/> steps.</summary>
    public int WarmupFor(int totalSteps) => WarmupSteps > 0 ? WarmupSteps : (int)Math.Ceiling(WarmupRatio * totalSteps);

    /// <summary>The multiplier of the base rate at 0-based step <paramref name="step"/> of <paramref name="totalSteps"/>.</summary>
    public double Factor(int step, int totalSteps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        ArgumentOutOfRangeException.ThrowIfLessThan(totalSteps, 1);
        int w = WarmupFor(totalSteps);
        if (step < w) return (double)step / w;
        if (Kind == LearningRateScheduleKind.Constant) return 1.0;
        double progress = (double)(step - w) / Math.Max(1, totalSteps - w);
        return Kind switch
        {
            LearningRateScheduleKind.Linear => Math.Max(0.0, 1.0 - progress),
            LearningRateScheduleKind.Cosine => Math.Max(0.0, MinLearningRateRatio + (1 - MinLearningRateRatio) * 0.5 * (1.0 + Math.Cos(Math.PI * Math.Min(progress, 1.0)))),
            _ => throw new InvalidOperationException($"unknown schedule {Kind}."),
        };
    }

    /// <summary>The learning rate <c>baseRate * Factor(step, totalSteps)</c>.</summary>
    public double At(double baseRate, int step, int totalSteps) => baseRate * Factor(step, totalSteps);

    /// <summary>Sets the learning rate of every parameter group of <paramref name="optimizer"/> to <paramref name="learningRate"/>.</summary>
    public static void Apply(torch.optim.Optimizer optimizer, double learningRate)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        foreach (var group in optimizer.ParamGroups) group.LearningRate = learningRate;
    }
}
