namespace U2A.Testing.Benchmark;

/// <summary>One method at its chosen learning rate; means and standard deviations over seeds.</summary>
public sealed record MethodReport
{
    /// <summary>DPO, GA, GradDiff, NPO, U2A+GA, U2A+GradDiff, U2A+NPO, Oracle+GA or Random+GA.</summary>
    public required string Name { get; init; }
    /// <summary>The learning rate chosen on validation prompts (highest mean validation PA over seeds).</summary>
    public required double LearningRate { get; init; }
    /// <summary>Mean validation PA at the kept iteration, per learning rate of the grid (the choice's evidence).</summary>
    public required Dictionary<string, double> ValidationPaByLearningRate { get; init; }
    /// <summary>Test expected reward at the kept parameters.</summary>
    public required double PaScoreMean { get; init; }
    /// <summary>Its standard deviation over seeds.</summary>
    public required double PaScoreStd { get; init; }
    /// <summary>Test greedy-answer reward.</summary>
    public required double GreedyPaMean { get; init; }
    /// <summary>Exact test win rate against the starting model (ties half).</summary>
    public required double WinRateMean { get; init; }
    /// <summary>Token-mean NLL of the truly harmful pool negatives.</summary>
    public required double ForgetNllMean { get; init; }
    /// <summary>Token-mean NLL of the retain set (benign train prompts answered helpfully).</summary>
    public required double RetainNllMean { get; init; }
    /// <summary>Well-formed mass on the test prompts.</summary>
    public required double WellFormedMass { get; init; }
    /// <summary>Update steps up to the kept iteration, mean over seeds.</summary>
    public required double UpdateSteps { get; init; }
    /// <summary>Update steps to first reach the target on validation prompts, mean over the seeds that reached it; null if none did.</summary>
    public required double? StepsToTarget { get; init; }
    /// <summary>Wall time to first reach the target (scoring and selection included; evaluation excluded), mean over the seeds that reached it.</summary>
    public required double? SecondsToTarget { get; init; }
    /// <summary>Seeds on which the target was reached.</summary>
    public required int TargetReachedSeeds { get; init; }
    /// <summary>Runs of this method (all learning rates and seeds) that diverged (a non-finite loss); they keep the starting parameters.</summary>
    public int DivergedRuns { get; init; }
    /// <summary>Share of the selected negatives that are truly harmful; null for methods without a selection (DPO).</summary>
    public required double? SelectionPrecision { get; init; }
    /// <summary>Selected negatives, mean over seeds; null for DPO.</summary>
    public required double? SelectedCount { get; init; }
    /// <summary>Per seed: test PA, validation PA, update steps.</summary>
    public required SeedResult[] PerSeed { get; init; }
    /// <summary>Validation PA against update steps at the chosen learning rate, mean over seeds (points where every seed was evaluated).</summary>
    public required TrajectoryPoint[] Trajectory { get; init; }
}
