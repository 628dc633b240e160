using U2A.Core.Evaluation;

namespace U2A.Core.Tests.Evaluation;

public class SeedStatisticsTests
{
    [Fact]
    public void Summary_matches_hand_computed_mean_sd_and_t_interval()
    {
        // x = 1, 2, 3, 4: mean 2.5; sd = sqrt(((1.5^2 + 0.5^2) * 2) / 3) = sqrt(5/3) = 1.290994449;
        // t(0.975, 3) = 3.182446305; half width = 3.182446305 * 1.290994449 / 2 = 2.054260;
        var s = SeedStatistics.Summarize(new[] { 1.0, 2.0, 3.0, 4.0 });
        Assert.Equal(2.5, s.Mean, 12);
        Assert.Equal(1.290994449, s.StandardDeviation, 9);
        Assert.Equal(2.5 - 2.054260, s.Low, 5);
        Assert.Equal(2.5 + 2.054260, s.High, 5);
        Assert.Equal(4, s.Count);
    }

    [Fact]
    public void Paired_difference_is_b_minus_a_per_seed()
    {
        var d = SeedStatistics.PairedDifference(new[] { 0.5, 0.7, 0.2 }, new[] { 0.6, 0.6, 0.5 });
        // differences 0.1, -0.1, 0.3: mean 0.1, sd = sqrt((0 + 0.04 + 0.04) / 2) = 0.2
        Assert.Equal(0.1, d.Mean, 12);
        Assert.Equal(0.2, d.StandardDeviation, 12);
        Assert.True(d.Low < 0 && d.High > 0, "three noisy pairs cannot establish a difference");
    }

    [Fact]
    public void Spearman_uses_ranks_with_ties_averaged()
    {
        Assert.Equal(1.0, SeedStatistics.Spearman(new[] { 1.0, 2, 3, 4 }, new[] { 10.0, 20, 30, 1000 }), 12);
        Assert.Equal(-1.0, SeedStatistics.Spearman(new[] { 1.0, 2, 3 }, new[] { 3.0, 2, 1 }), 12);
        // x ranks 1, 2.5, 2.5, 4; y ranks 1, 2, 3, 4: Pearson of the ranks = 4.5 / sqrt(4.5 * 5) = 0.948683298
        Assert.Equal(0.948683298, SeedStatistics.Spearman(new[] { 1.0, 2, 2, 3 }, new[] { 1.0, 2, 3, 4 }), 9);
    }

    [Fact]
    public void Bad_samples_are_rejected_with_a_reason()
    {
        Assert.Contains("no values", Assert.Throws<ArgumentException>(() => SeedStatistics.Summarize(Array.Empty<double>())).Message);
        Assert.Contains("not finite", Assert.Throws<ArgumentException>(() => SeedStatistics.Summarize(new[] { double.NaN })).Message);
        Assert.Contains("equal lengths", Assert.Throws<ArgumentException>(() => SeedStatistics.PairedDifference(new[] { 1.0 }, new[] { 1.0, 2 })).Message);
        Assert.True(double.IsNaN(SeedStatistics.Summarize(new[] { 3.0 }).Low));
    }
}
