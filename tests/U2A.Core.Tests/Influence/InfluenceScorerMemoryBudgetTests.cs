using U2A.Core.Influence;
using U2A.Core.Optimization;

namespace U2A.Core.Tests.Influence;

/// <summary>Memory-aware chunking: the chunk size comes from a budget and one measured example, is logged, and changes no score.</summary>
public sealed class InfluenceScorerMemoryBudgetTests : IDisposable
{
    private readonly TinyLmFixture _f = new();

    public void Dispose() => _f.Dispose();

    [Theory]
    [InlineData(ScoringMethod.BatchedExact)]
    [InlineData(ScoringMethod.FiniteDifference)]
    public void The_chunk_size_follows_the_budget_is_logged_and_changes_no_score(ScoringMethod method)
    {
        var problem = _f.Problem();
        using var dir = new IdentityEstimator().Estimate(problem);
        var fixedChunk = new InfluenceScorer(method, chunkSize: 1).Score(problem, dir);

        var small = new ListLogger();
        var tight = InfluenceScorer.WithMemoryBudget(method, 1L << 20, maxChunkSize: 64, logger: small);
        Assert.Null(tight.ChosenChunkSize);
        var tightScores = tight.Score(problem, dir);
        var roomy = InfluenceScorer.WithMemoryBudget(method, 1L << 32, maxChunkSize: 64);
        var roomyScores = roomy.Score(problem, dir);

        // 4 GiB holds the whole pool (capped at 64); 1 MiB holds only a few exact passes (backward graph kept for the double
        // backward) of this model, while forward-only passes are small enough for more.
        Assert.Equal(64, roomy.ChosenChunkSize);
        Assert.InRange(tight.ChosenChunkSize!.Value, 1, 64);
        if (method == ScoringMethod.BatchedExact) Assert.InRange(tight.ChosenChunkSize!.Value, 1, _f.N - 1);
        var line = Assert.Single(small.Lines);
        Assert.Contains($"chunk size {tight.ChosenChunkSize}", line);
        Assert.Contains("memory budget 1 MiB", line);
        for (int i = 0; i < fixedChunk.Length; i++)
        {
            double tol = 1e-9 * Math.Max(1, Math.Abs(fixedChunk[i]));
            Assert.True(Math.Abs(fixedChunk[i] - tightScores[i]) <= tol, $"example {i}: chunk 1 {fixedChunk[i]:G12}, budgeted {tightScores[i]:G12}");
            Assert.True(Math.Abs(fixedChunk[i] - roomyScores[i]) <= tol, $"example {i}: chunk 1 {fixedChunk[i]:G12}, whole pool {roomyScores[i]:G12}");
        }
    }

    [Fact]
    public void A_budget_below_one_MiB_is_refused_naming_the_field()
    {
        var e = Assert.Throws<ArgumentException>(() => InfluenceScorer.WithMemoryBudget(ScoringMethod.BatchedExact, 1000));
        Assert.Equal("InfluenceScorer.memoryBudgetBytes", e.ParamName);
        var o = new BilevelOptions { Scoring = new InfluenceScoringOptions { MemoryBudgetBytes = 5 } };
        var e2 = Assert.Throws<ArgumentException>(() => o.Validate(poolSize: 4));
        Assert.Equal("BilevelOptions.Scoring.MemoryBudgetBytes", e2.ParamName);
    }
}
