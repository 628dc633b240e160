namespace U2A.Core.Alignment;

/// <summary>Row ranges for evaluating a large set a chunk at a time.</summary>
internal static class RowChunks
{
    /// <summary>Index lists of consecutive rows <c>[0, count)</c>, at most <paramref name="size"/> each.</summary>
    public static IEnumerable<long[]> Of(int count, int size)
    {
        for (int start = 0; start < count; start += size)
        {
            int n = Math.Min(size, count - start);
            var idx = new long[n];
            for (int i = 0; i < n; i++) idx[i] = start + i;
            yield return idx;
        }
    }
}
