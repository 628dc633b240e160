using System.Globalization;

namespace U2A.Cli.Scale;

/// <summary>
/// Shard <see cref="Index"/> of <see cref="Count"/> (0-based, as Kubernetes' JOB_COMPLETION_INDEX and a Slurm array from 0).
/// A shard is a contiguous run of whole scoring chunks: the pool's <c>C = ceil(N / chunk)</c> chunks are split as evenly as
/// possible, shard i taking chunks <c>[i C / n, (i + 1) C / n)</c>. Every chunk a shard scores is therefore exactly a chunk
/// of the single-process run, so its scores are bitwise the same on CPU.
/// </summary>
public readonly record struct ShardSpec(int Index, int Count)
{
    /// <summary>The whole pool as one shard.</summary>
    public static ShardSpec Whole => new(0, 1);

    /// <summary>Parses <c>i/n</c>; <see cref="UsageException"/> naming <paramref name="option"/> otherwise.</summary>
    public static ShardSpec Parse(string text, string option = "--shard")
    {
        var parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int i)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n))
            throw new UsageException(option, $"expected INDEX/COUNT with 0 <= INDEX < COUNT (e.g. 0/8), got '{text}'.");
        if (n < 1 || i >= n) throw new UsageException(option, $"expected INDEX/COUNT with 0 <= INDEX < COUNT, got '{text}'.");
        return new ShardSpec(i, n);
    }

    /// <summary>The examples [Start, End) of this shard in a pool of <paramref name="poolCount"/> scored in chunks of <paramref name="chunkSize"/>.</summary>
    public (int Start, int End) Slice(int poolCount, int chunkSize)
    {
        long chunks = (poolCount + (long)chunkSize - 1) / chunkSize;
        long first = Index * chunks / Count, last = (Index + 1L) * chunks / Count;
        return ((int)Math.Min(first * chunkSize, poolCount), (int)Math.Min(last * chunkSize, poolCount));
    }

    /// <inheritdoc />
    public override string ToString() => $"{Index}/{Count}";
}
