namespace U2A.Core.Data;

/// <summary>
/// Splits a dataset's indices into batches in a seeded, reproducible order (the same seed gives the same batches on
/// every run and OS), optionally bucketing by length so each batch holds sequences of similar length (less padding).
/// For one order per epoch, derive the seed from the epoch (e.g. <c>seed + epoch</c>).
/// </summary>
public static class BatchPlanner
{
    /// <summary>A shuffled split of 0 .. <paramref name="count"/>-1 into batches of <paramref name="batchSize"/> (the last one smaller unless <paramref name="dropLast"/>).</summary>
    public static IReadOnlyList<int[]> Plan(int count, int batchSize, long seed, bool dropLast = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Require.AtLeastOne(batchSize, "BatchPlanner.batchSize");
        return Cut(new DeterministicRandom(seed).Permutation(count), batchSize, dropLast);
    }

    /// <summary>
    /// Length-bucketed batches: the indices are shuffled, cut into buckets of <paramref name="bucketBatches"/> batches,
    /// each bucket sorted by length (ties keep the shuffled order) and cut into batches, and the batches shuffled.
    /// Every index appears exactly once (unless <paramref name="dropLast"/> drops a short final batch of a bucket).
    /// </summary>
    /// <param name="lengths">The length of each example (e.g. from <see cref="SequenceCollator.Lengths"/>).</param>
    /// <param name="batchSize">Examples per batch.</param>
    /// <param name="seed">The seed.</param>
    /// <param name="bucketBatches">Batches per bucket: larger gives tighter length groups and less randomness.</param>
    /// <param name="dropLast">Drop batches shorter than <paramref name="batchSize"/>.</param>
    public static IReadOnlyList<int[]> PlanBucketed(IReadOnlyList<int> lengths, int batchSize, long seed, int bucketBatches = 32, bool dropLast = false)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        Require.AtLeastOne(batchSize, "BatchPlanner.batchSize");
        Require.AtLeastOne(bucketBatches, "BatchPlanner.bucketBatches");
        var rng = new DeterministicRandom(seed);
        var order = rng.Permutation(lengths.Count);
        int bucket = checked(batchSize * bucketBatches);
        var batches = new List<int[]>();
        for (int start = 0; start < order.Length; start += bucket)
        {
            var chunk = order.Skip(start).Take(bucket).ToArray();
            var sorted = chunk.Select((index, rank) => (index, rank)).OrderBy(x => lengths[x.index]).ThenBy(x => x.rank).Select(x => x.index).ToArray();
            batches.AddRange(Cut(sorted, batchSize, dropLast));
        }
        rng.Shuffle(batches);
        return batches;
    }

    private static List<int[]> Cut(int[] order, int batchSize, bool dropLast)
    {
        var batches = new List<int[]>();
        for (int start = 0; start < order.Length; start += batchSize)
        {
            int n = Math.Min(batchSize, order.Length - start);
            if (n < batchSize && dropLast) break;
            batches.Add(order.AsSpan(start, n).ToArray());
        }
        return batches;
    }
}
