namespace U2A.Core.Data;

/// <summary>
/// A seeded random source that gives the same sequence on every run, OS and .NET version (SplitMix64, integer
/// arithmetic only), for shuffling data. Not for cryptography. Not thread-safe.
/// </summary>
/// <param name="seed">The seed.</param>
internal sealed class DeterministicRandom(long seed)
{
    private ulong _state = unchecked((ulong)seed);

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A uniform integer in [0, <paramref name="exclusiveMax"/>) (unbiased: rejection sampling).</summary>
    public int NextInt(int exclusiveMax)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(exclusiveMax, 1);
        ulong n = (ulong)exclusiveMax;
        ulong limit = ulong.MaxValue - (ulong.MaxValue % n + 1) % n; // largest value below a multiple of n, minus one
        ulong r;
        do r = NextUInt64(); while (r > limit);
        return (int)(r % n);
    }

    /// <summary>Shuffles <paramref name="list"/> in place (Fisher-Yates).</summary>
    public void Shuffle<T>(IList<T> list)
    {
        ArgumentNullException.ThrowIfNull(list);
        for (int i = list.Count - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }

    /// <summary>A random permutation of 0 .. <paramref name="count"/>-1.</summary>
    public int[] Permutation(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var p = Enumerable.Range(0, count).ToArray();
        Shuffle(p);
        return p;
    }
}
