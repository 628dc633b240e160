namespace U2A.Cli.Scale;

/// <summary>Joins shard score files into the single-process file, refusing anything that would not reproduce it.</summary>
public static class ShardMerger
{
    /// <summary>Merges <paramref name="paths"/> (any order). <see cref="CliFailure"/> naming the file when a shard's fingerprint,
    /// pool size, chunk size or shard count differs from the first's, when two files hold the same shard, when a shard is
    /// missing, or when a file's rows are not exactly its slice.</summary>
    public static ScoreFile Merge(IReadOnlyList<string> paths)
    {
        if (paths.Count == 0) throw new UsageException("SHARDS", "give at least one shard file.");
        var files = paths.Select(p => (Path: p, File: ScoreFile.Read(p))).ToArray();
        var (firstPath, first) = files[0];
        if (first.Shard is not { } firstShard) throw new CliFailure($"{firstPath}: not a shard file (no shard=i/n field): it was written without --shard.");
        var byIndex = new Dictionary<int, string>();
        foreach (var (path, file) in files)
        {
            if (file.Shard is not { } shard) throw new CliFailure($"{path}: not a shard file (no shard=i/n field): it was written without --shard.");
            if (file.Fingerprint != first.Fingerprint)
                throw new CliFailure($"{path}: fingerprint {Short(file.Fingerprint)} differs from {firstPath}'s {Short(first.Fingerprint)}: " +
                    "the shards were scored against other models, data, options or directions.");
            if (file.PoolCount != first.PoolCount || file.ChunkSize != first.ChunkSize)
                throw new CliFailure($"{path}: pool of {file.PoolCount} in chunks of {file.ChunkSize}, but {firstPath} has {first.PoolCount} in chunks of {first.ChunkSize}.");
            if (shard.Count != firstShard.Count)
                throw new CliFailure($"{path}: shard {shard} belongs to a split into {shard.Count}, but {firstPath} is shard {firstShard} of a split into {firstShard.Count}.");
            if (byIndex.TryGetValue(shard.Index, out var other))
                throw new CliFailure($"{path}: shard {shard} is also in {other} (overlapping slices).");
            byIndex[shard.Index] = path;
            var (start, end) = shard.Slice(file.PoolCount, file.ChunkSize);
            if (file.Start != start || file.End != end)
                throw new CliFailure($"{path}: shard {shard} covers [{file.Start}, {file.End}) but its slice is [{start}, {end}).");
            if (file.Rows.Count != end - start || file.Rows.Select((r, k) => r.Index != start + k).Any(bad => bad))
                throw new CliFailure($"{path}: expected the {end - start} rows {start}..{end - 1} in order, found {file.Rows.Count}.");
        }
        var missing = Enumerable.Range(0, firstShard.Count).Where(i => !byIndex.ContainsKey(i)).ToArray();
        if (missing.Length > 0)
            throw new CliFailure($"missing shard(s) {string.Join(", ", missing.Select(i => $"{i}/{firstShard.Count}"))}: {files.Length} of {firstShard.Count} files given.");
        var rows = files.OrderBy(f => f.File.Start).SelectMany(f => f.File.Rows).ToArray();
        return new ScoreFile(first.Fingerprint, first.PoolCount, first.ChunkSize, null, 0, first.PoolCount, rows);
    }

    private static string Short(string hex) => hex.Length > 12 ? hex[..12] : hex;
}
