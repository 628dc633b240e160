using MathNet.Numerics.Distributions;
using MathNet.Numerics.Statistics;

namespace U2A.Core.Evaluation;

/// <summary>
/// Statistics over seeds, for reporting results honestly: a summary with a confidence interval, the paired
/// difference of two methods run on the same seeds, and Spearman's rank correlation (MathNet.Numerics underneath).
/// </summary>
public static class SeedStatistics
{
    /// <summary>Summarises <paramref name="values"/> (at least one, all finite).</summary>
    public static Summary Summarize(IEnumerable<double> values)
    {
        var x = Checked(values, nameof(values));
        double mean = x.Mean();
        if (x.Length == 1) return new Summary(1, mean, 0, double.NaN, double.NaN);
        double sd = x.StandardDeviation();
        double half = StudentT.InvCDF(0, 1, x.Length - 1, 0.975) * sd / Math.Sqrt(x.Length);
        return new Summary(x.Length, mean, sd, mean - half, mean + half);
    }

    /// <summary>
    /// The paired difference <c>b_i - a_i</c> of two methods run on the same seeds: its summary, whose interval
    /// excluding 0 is the usual paired t-test at the 5% level.
    /// </summary>
    public static Summary PairedDifference(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count != b.Count) throw new ArgumentException($"paired samples need equal lengths, got {a.Count} and {b.Count}.", nameof(b));
        return Summarize(a.Select((v, i) => b[i] - v));
    }

    /// <summary>Spearman's rank correlation of two equally long samples (ties get average ranks).</summary>
    public static double Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        var a = Checked(x, nameof(x));
        var b = Checked(y, nameof(y));
        if (a.Length != b.Length) throw new ArgumentException($"samples of {a.Length} and {b.Length} values cannot be correlated.", nameof(y));
        if (a.Length < 2) throw new ArgumentException("at least two pairs are needed.", nameof(x));
        return Correlation.Spearman(a, b);
    }

    private static double[] Checked(IEnumerable<double> values, string name)
    {
        ArgumentNullException.ThrowIfNull(values, name);
        var x = values.ToArray();
        if (x.Length == 0) throw new ArgumentException("no values to summarise.", name);
        for (int i = 0; i < x.Length; i++)
            if (!double.IsFinite(x[i])) throw new ArgumentException($"value {i} is not finite ({x[i]}).", name);
        return x;
    }
}
