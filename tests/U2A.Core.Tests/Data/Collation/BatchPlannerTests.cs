using U2A.Core.Data;

namespace U2A.Core.Tests.Data.Collation;

public class BatchPlannerTests
{
    [Fact]
    public void Batch_plans_are_deterministic_and_cover_every_index_once()
    {
        var plan = BatchPlanner.Plan(10, 4, seed: 5);
        Assert.Equal(new[] { 4, 4, 2 }, plan.Select(b => b.Length));
        Assert.Equal(Enumerable.Range(0, 10), plan.SelectMany(b => b).Order());
        Assert.Equal(plan, BatchPlanner.Plan(10, 4, seed: 5));
        Assert.Equal(2, BatchPlanner.Plan(10, 4, seed: 5, dropLast: true).Count);
    }

    [Fact]
    public void Bucketed_plan_groups_similar_lengths()
    {
        var rng = new DeterministicRandom(99);
        var lengths = Enumerable.Range(0, 200).Select(_ => 1 + rng.NextInt(500)).ToArray();
        var plan = BatchPlanner.PlanBucketed(lengths, 8, seed: 3, bucketBatches: 25); // one bucket: global sort
        Assert.Equal(Enumerable.Range(0, 200), plan.SelectMany(b => b).Order());
        Assert.Equal(plan, BatchPlanner.PlanBucketed(lengths, 8, seed: 3, bucketBatches: 25));
        int Padding(IEnumerable<int[]> batches) => batches.Sum(b => b.Length * b.Max(i => lengths[i]) - b.Sum(i => lengths[i]));
        int bucketed = Padding(plan), random = Padding(BatchPlanner.Plan(200, 8, seed: 3));
        Assert.True(bucketed * 5 < random, $"bucketed padding {bucketed} vs random {random}");
        // With one bucket the batches are consecutive runs of the length order: they do not overlap.
        var byMin = plan.OrderBy(b => b.Min(i => lengths[i])).ToArray();
        for (int k = 1; k < byMin.Length; k++) Assert.True(byMin[k - 1].Max(i => lengths[i]) <= byMin[k].Min(i => lengths[i]));
    }
}
