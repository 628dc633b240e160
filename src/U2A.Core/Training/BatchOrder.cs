namespace U2A.Core.Training;

/// <summary>
/// A seeded, resumable order over a dataset of <see cref="Count"/> examples: each epoch is a permutation drawn
/// from (<see cref="Seed"/>, epoch) alone, cut into batches of <see cref="BatchSize"/> (the last one of an epoch
/// may be smaller). Batch <c>b</c> is a pure function of <c>b</c>, so a run resumed at any step sees the same data
/// as an uninterrupted one, on every platform (the generator is SplitMix64, not <see cref="Random"/>).
/// </summary>
public sealed class BatchOrder
{
    /// <summary>Creates the order; <paramref name="shuffle"/> false keeps the dataset order in every epoch.</summary>
    public BatchOrder(int count, int batchSize, long seed, bool shuffle = true)
    {
        Require.AtLeastOne(count, "BatchOrder.count");
        Require.AtLeastOne(batchSize, "BatchOrder.batchSize");
        Count = count;
        BatchSize = Math.Min(batchSize, count);
        Seed = seed;
        Shuffle = shuffle;
    }

    /// <summary>Number of examples.</summary>
    public int Count { get; }

    /// <summary>Examples per batch (at most <see cref="Count"/>).</summary>
    public int BatchSize { get; }

    /// <summary>The seed.</summary>
    public long Seed { get; }

    /// <summary>Whether epochs are shuffled.</summary>
    public bool Shuffle { get; }

    /// <summary>Batches per epoch, <c>ceil(Count / BatchSize)</c>.</summary>
    public int BatchesPerEpoch => (Count + BatchSize - 1) / BatchSize;

    /// <summary>The permutation of epoch <paramref name="epoch"/>.</summary>
    public int[] Permutation(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        var perm = Enumerable.Range(0, Count).ToArray();
        if (!Shuffle) return perm;
        ulong state = unchecked((ulong)Seed * 0x9E3779B97F4A7C15UL ^ ((ulong)epoch + 1) * 0xD1B54A32D192ED03UL);
        for (int i = Count - 1; i > 0; i--)
        {
            int j = (int)(Next(ref state) % (ulong)(i + 1));
            (perm[i], perm[j]) = (perm[j], perm[i]);
        }
        return perm;
    }

    /// <summary>The example indices of global batch <paramref name="batchIndex"/> (epoch = batchIndex / BatchesPerEpoch).</summary>
    public long[] Batch(long batchIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batchIndex);
        int epoch = checked((int)(batchIndex / BatchesPerEpoch));
        int within = (int)(batchIndex % BatchesPerEpoch);
        var perm = Permutation(epoch);
        int start = within * BatchSize, end = Math.Min(Count, start + BatchSize);
        var result = new long[end - start];
        for (int i = start; i < end; i++) result[i - start] = perm[i];
        return result;
    }

    private static ulong Next(ref ulong state)
    {
        unchecked
        {
            ulong z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
