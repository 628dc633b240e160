namespace U2A.Core.Evaluation;

/// <summary>Mean, sample standard deviation and a Student-t 95% confidence interval of the mean, over n runs.</summary>
/// <param name="Count">n.</param>
/// <param name="Mean">The sample mean.</param>
/// <param name="StandardDeviation">The sample standard deviation (n - 1 in the denominator); 0 when n = 1.</param>
/// <param name="Low">Lower end of the 95% interval of the mean (NaN when n = 1).</param>
/// <param name="High">Upper end of the 95% interval of the mean (NaN when n = 1).</param>
public sealed record Summary(int Count, double Mean, double StandardDeviation, double Low, double High)
{
    /// <summary>"mean ± sd (95% CI low..high, n = N)".</summary>
    public override string ToString() =>
        Count > 1 ? $"{Mean:F3} ± {StandardDeviation:F3} (95% CI {Low:F3}..{High:F3}, n = {Count})" : $"{Mean:F3} (n = 1)";
}
