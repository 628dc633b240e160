namespace U2A.Core.Data;

/// <summary>One AdvBench behaviour: a harmful request and the compliant opening the attack targets.</summary>
/// <param name="Goal">The request (the <c>goal</c> column).</param>
/// <param name="Target">The target completion (the <c>target</c> column, e.g. "Sure, here is ...").</param>
/// <param name="Source">Where the row was read.</param>
public sealed record AdvBenchBehavior(string Goal, string Target, SourceLocation? Source = null)
{
    /// <summary>The behaviour as a negative example: the goal as prompt, the target (the harmful compliance) as response.</summary>
    public NegativeExample ToNegative() => new(Goal, Target, Source);
}
