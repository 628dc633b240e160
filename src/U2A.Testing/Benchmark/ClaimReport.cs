namespace U2A.Testing.Benchmark;

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
