using System.Text.Json;
using System.Text.Json.Serialization;

namespace U2A.Testing.Benchmark;

/// <summary>The result of a <see cref="SafetyBenchmark"/> run, written as <c>report.json</c> (snake_case names).</summary>
public sealed record SafetyBenchmarkReport
{
    /// <summary>The task seeds.</summary>
    public required int[] Seeds { get; init; }
    /// <summary>The mislabeled share of the forget pool.</summary>
    public required double MislabeledShare { get; init; }
    /// <summary>The primary PA metric: "expected_reward" (exact expected known reward on the test prompts).</summary>
    public string PaMetric { get; init; } = "expected_reward";
    /// <summary>Expected reward of the starting model on the test prompts, mean over seeds.</summary>
    public required double StartPa { get; init; }
    /// <summary>Its standard deviation over seeds.</summary>
    public required double StartPaStd { get; init; }
    /// <summary>Greedy-answer reward of the starting model on the test prompts, mean over seeds.</summary>
    public required double StartGreedyPa { get; init; }
    /// <summary>Well-formed mass of the starting model on the test prompts, mean over seeds.</summary>
    public required double StartWellFormedMass { get; init; }
    /// <summary>Well-formed mass of the starting model on the train prompts, mean over seeds.</summary>
    public required double StartWellFormedMassTrain { get; init; }
    /// <summary>The target on validation prompts: the starting score + 90% of DPO's improvement, mean over seeds.</summary>
    public required double TargetPa { get; init; }
    /// <summary>Every method at its learning rate chosen on validation prompts.</summary>
    public required MethodReport[] Methods { get; init; }
    /// <summary>The C1 analysis: each group's change of the test PA score when unlearned alone from the starting model.</summary>
    public required GroupReport[] Groups { get; init; }
    /// <summary>Influence scores at the start (U2A's identity-estimator scores) with the hidden truth, per seed.</summary>
    public required ScoreReport[] Scores { get; init; }
    /// <summary>The paper's claims, measured.</summary>
    public required ClaimReport Claims { get; init; }
    /// <summary>The run's settings.</summary>
    public required SafetyBenchmarkSettings Settings { get; init; }
    /// <summary>Wall time of the whole run, in seconds.</summary>
    public required double TotalSeconds { get; init; }

    /// <summary>The JSON options of the report: snake_case, indented, nulls written.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The report as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Reads a report written by <see cref="ToJson"/>.</summary>
    public static SafetyBenchmarkReport FromJson(string json) =>
        JsonSerializer.Deserialize<SafetyBenchmarkReport>(json, JsonOptions) ?? throw new JsonException("report.json holds null.");
}

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

/// <summary>One seed of one method at its chosen learning rate.</summary>
public sealed record SeedResult(int Seed, double PaScore, double ValidationPa, double GreedyPa, double WinRate, double WellFormedMass,
    double ForgetNll, double RetainNll, int UpdateSteps, int? StepsToTarget, double? SecondsToTarget, double? SelectionPrecision, int? SelectedCount);

/// <summary>A point of a PA-against-steps curve.</summary>
public sealed record TrajectoryPoint(int Steps, double ValidationPa, double Seconds);

/// <summary>One C1 group.</summary>
public sealed record GroupReport(int Seed, int Group, int Size, int TrueNegatives, double DeltaPa);

/// <summary>Influence scores of one seed's pool with the hidden truth.</summary>
public sealed record ScoreReport(int Seed, double[] Scores, bool[] IsTrueNegative);

/// <summary>The paper's claims, as read from the report (see docs/benchmark.md).</summary>
public sealed record ClaimReport
{
    /// <summary>C1: share of groups whose unlearning lowered the PA score.</summary>
    public required double C1ShareLower { get; init; }
    /// <summary>C1: share of groups whose unlearning raised it.</summary>
    public required double C1ShareRaise { get; init; }
    /// <summary>C1 holds: at least 20% lower and at least 20% raise.</summary>
    public required bool C1Holds { get; init; }
    /// <summary>C2, per unlearner X: U2A+X's mean PA minus X's, the margin it must exceed, and the forget-NLL ratio.</summary>
    public required C2Entry[] C2 { get; init; }
    /// <summary>C3: the best U2A variant's PA score over DPO's.</summary>
    public required double? C3Ratio { get; init; }
    /// <summary>C3 holds: at least 0.95 (of DPO's PA score; both on the test prompts).</summary>
    public required bool C3Holds { get; init; }
    /// <summary>C4: the best U2A variant's steps to target over DPO's.</summary>
    public required double? C4StepsRatio { get; init; }
    /// <summary>C4: the best U2A variant's seconds to target over DPO's.</summary>
    public required double? C4SecondsRatio { get; init; }
    /// <summary>C4 holds: at most 10% of the steps and 25% of the wall time.</summary>
    public required bool C4Holds { get; init; }
    /// <summary>U2A+GA's selection precision (goal: at least 0.9 at share 0.3).</summary>
    public required double? SelectionPrecision { get; init; }
    /// <summary>The best U2A variant by mean test PA.</summary>
    public required string BestU2aVariant { get; init; }
}

/// <summary>C2 for one unlearner.</summary>
/// <param name="Unlearner">GA, GradDiff or NPO.</param>
/// <param name="U2aPa">U2A + X's mean test PA.</param>
/// <param name="PlainPa">X's on the whole pool.</param>
/// <param name="Margin">Their difference.</param>
/// <param name="RequiredMargin">The larger of their two seed standard deviations.</param>
/// <param name="ForgetNllRatio">U2A + X's forget NLL on the truly harmful negatives over X's (goal at least 0.9).</param>
/// <param name="Holds">Margin above the required one and the ratio at least 0.9.</param>
/// <param name="PairedLow">Lower end of the 95% t interval of the per-seed paired difference (NaN with one seed).</param>
/// <param name="PairedHigh">Its upper end.</param>
/// <param name="SeedsWon">Seeds on which U2A + X's test PA is higher.</param>
public sealed record C2Entry(string Unlearner, double U2aPa, double PlainPa, double Margin, double RequiredMargin, double ForgetNllRatio, bool Holds,
    double PairedLow, double PairedHigh, int SeedsWon);

/// <summary>One seed's results, serializable (JSON) so that seeds can run in separate processes and be joined by <see cref="SafetyBenchmark.BuildReport"/>.</summary>
public sealed record SeedOutcome
{
    /// <summary>The task seed.</summary>
    public required int Seed { get; init; }
    /// <summary>Starting model's expected reward on the test prompts.</summary>
    public required double StartPa { get; init; }
    /// <summary>Starting model's well-formed mass on the test prompts.</summary>
    public required double StartWellFormedMass { get; init; }
    /// <summary>Starting model's expected reward on the validation prompts.</summary>
    public required double StartValidation { get; init; }
    /// <summary>Starting model's greedy-answer reward on the test prompts.</summary>
    public required double StartGreedy { get; init; }
    /// <summary>Starting model's well-formed mass on the train prompts.</summary>
    public required double StartMassTrain { get; init; }
    /// <summary>Every method at every learning rate of the grid.</summary>
    public required RunOutcome[] Runs { get; init; }
    /// <summary>The C1 groups.</summary>
    public required GroupReport[] Groups { get; init; }
    /// <summary>U2A's influence scores at the start.</summary>
    public required double[] Scores { get; init; }
    /// <summary>The hidden truth of the pool.</summary>
    public required bool[] IsTrueNegative { get; init; }

    /// <summary>The run of <paramref name="method"/> at learning-rate index <paramref name="learningRate"/>, or null.</summary>
    public RunOutcome? Find(string method, int learningRate) => Runs.FirstOrDefault(r => r.Method == method && r.LearningRateIndex == learningRate);
}

/// <summary>One method at one learning rate on one seed.</summary>
/// <param name="Method">The method's name.</param>
/// <param name="LearningRateIndex">Index into the settings' learning-rate grid.</param>
/// <param name="Trajectory">Validation PA after each round (round 0: the start).</param>
/// <param name="BestValidation">Validation PA at the kept round.</param>
/// <param name="UpdateSteps">Update steps up to the kept round.</param>
/// <param name="Diverged">Whether the run hit a non-finite loss (it then keeps the starting parameters).</param>
/// <param name="Test">Test metrics at the kept parameters.</param>
public sealed record RunOutcome(string Method, int LearningRateIndex, TrajectoryPoint[] Trajectory, double BestValidation, int UpdateSteps, bool Diverged, SeedResult Test);
