namespace U2A.Core.Models.Checkpoints;

/// <summary>
/// The on-disk protocol that makes <see cref="HfCheckpoint.Save"/> safe against the process dying at any point.
/// <list type="number">
/// <item>The checkpoint is written into a staging folder <c>.u2a-save-&lt;owner&gt;-&lt;id&gt;</c> inside the target directory
/// (<c>&lt;owner&gt;</c> as in <see cref="SaveOwner"/>).</item>
/// <item>When every file is complete, the marker <see cref="MarkerFile"/> is written into it (to a temporary name, then
/// renamed): its lines are <see cref="MarkerHeader"/>, the file names in the order they are to be moved, and
/// <see cref="MarkerEnd"/>. From this moment the save counts as done.</item>
/// <item>The files are moved into place (weights, then stale <c>model*.safetensors*</c> files are deleted, then the index
/// and <c>config.json</c>), and the staging folder is deleted.</item>
/// </list>
/// A later save or load of the directory first handles the staging folders of owners that no longer run: one with a
/// complete marker is rolled forward (the remaining moves and deletions are idempotent), any other is deleted. So after a
/// crash the next load sees either the previous checkpoint or the new one, never a mixture.
/// </summary>
internal static class HfCheckpointStaging
{
    public const string Prefix = ".u2a-save-";
    public const string MarkerFile = ".u2a-complete";
    public const string MarkerHeader = "u2a-save 1";
    public const string MarkerEnd = "end";

    /// <summary>Creates an empty staging folder owned by the current process; returns its path.</summary>
    public static string Create(string directory)
    {
        string path = Path.Combine(directory, $"{Prefix}{SaveOwner.Current}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>Records that the files of <paramref name="staging"/> are complete (the commit point of a save).</summary>
    public static void MarkComplete(string staging, IReadOnlyList<string> files)
    {
        string marker = Path.Combine(staging, MarkerFile), temp = marker + ".tmp";
        File.WriteAllLines(temp, new[] { MarkerHeader }.Concat(files).Append(MarkerEnd));
        File.Move(temp, marker, overwrite: true);
    }

    /// <summary>The file list of a complete marker, or null when the marker is missing, unfinished or not one of ours.</summary>
    public static IReadOnlyList<string>? ReadMarker(string staging)
    {
        string marker = Path.Combine(staging, MarkerFile);
        if (!File.Exists(marker)) return null;
        string[] lines;
        try
        {
            lines = File.ReadAllLines(marker);
        }
        catch (IOException) { return null; }
        if (lines.Length < 3 || lines[0] != MarkerHeader || lines[^1] != MarkerEnd) return null;
        var files = lines[1..^1];
        // Only the names a save writes, as plain names inside the directory: a forged marker cannot move anything else.
        return files.All(IsCheckpointFileName) && files.Distinct(StringComparer.Ordinal).Count() == files.Length ? files : null;
    }

    private static bool IsCheckpointFileName(string name) =>
        Path.GetFileName(name) == name && name.Length > 0 && name.IndexOfAny(Path.GetInvalidFileNameChars()) < 0
        && (name == HfConfig.FileName || name == HfCheckpoint.IndexFileName
            || (name.StartsWith("model", StringComparison.Ordinal) && name.EndsWith(".safetensors", StringComparison.Ordinal)));

    private static bool IsWeights(string name) => name.EndsWith(".safetensors", StringComparison.Ordinal);

    /// <summary>The steps that move the files of a complete staging folder into place, in order. Each step is idempotent
    /// (a file already moved is skipped), so running the steps again after an interruption finishes the job.</summary>
    public static IReadOnlyList<(string Description, Action Run)> CommitSteps(string directory, string staging, IReadOnlyList<string> files)
    {
        var steps = new List<(string, Action)>();
        foreach (var file in files.Where(IsWeights)) steps.Add(($"move {file}", () => MoveIfPresent(staging, directory, file)));
        // After the weights: a leftover single model.safetensors would be preferred over a new index, and a stale shard
        // must not mix in. The pattern also takes model.safetensors.index.json when the new checkpoint is one file.
        var keep = new HashSet<string>(files, StringComparer.Ordinal);
        steps.Add(("delete stale model*.safetensors* files", () =>
        {
            foreach (var stale in Directory.GetFiles(directory, "model*.safetensors*"))
                if (!keep.Contains(Path.GetFileName(stale))) File.Delete(stale);
        }));
        // config.json last, so that it never pairs with weights it does not describe.
        foreach (var file in files.Where(f => !IsWeights(f))) steps.Add(($"move {file}", () => MoveIfPresent(staging, directory, file)));
        return steps;
    }

    private static void MoveIfPresent(string staging, string directory, string file)
    {
        string source = Path.Combine(staging, file);
        if (!File.Exists(source)) return;
        try
        {
            File.Move(source, Path.Combine(directory, file), overwrite: true);
        }
        catch (IOException) when (!File.Exists(source)) { } // moved meanwhile by another process finishing the same save
    }

    /// <summary>Runs every step of <see cref="CommitSteps"/>.</summary>
    public static void Commit(string directory, string staging, IReadOnlyList<string> files)
    {
        foreach (var (_, run) in CommitSteps(directory, staging, files)) run();
    }

    /// <summary>
    /// Rolls forward (complete marker) or deletes (no complete marker) every staging folder in <paramref name="directory"/>
    /// whose owner no longer runs, and deletes the temporary files that such owners left next to <c>model*.safetensors</c>. A roll-forward that fails is an <see cref="IOException"/> naming the folder, because the
    /// directory may then hold a mixture of two checkpoints; deleting a leftover is best effort.
    /// </summary>
    public static void Recover(string directory)
    {
        if (!Directory.Exists(directory)) return;
        foreach (var folder in Directory.GetDirectories(directory, Prefix + "*"))
        {
            string name = Path.GetFileName(folder);
            // Folders of versions before the owner token (".u2a-save-<guid>") parse as no owner: nothing runs them.
            if (SaveOwner.TryParse(name.AsSpan(Prefix.Length), out int pid, out long? start) && start is not null && SaveOwner.MayBeRunning(pid, start))
                continue;
            var files = ReadMarker(folder);
            if (files is not null)
            {
                try
                {
                    Commit(directory, folder, files);
                    File.Delete(Path.Combine(folder, MarkerFile));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new IOException($"{directory}: a save into this directory was interrupted after it had written every file; finishing it from {folder} failed ({e.Message}). " +
                        $"Until it is finished (make the directory writable and load or save again), the directory may hold a mixture of two checkpoints.", e);
                }
            }
            DeleteBestEffort(folder);
        }
        SafetensorsFile.RemoveStaleTemporaries(directory, name => name.StartsWith("model", StringComparison.Ordinal) && name.EndsWith(".safetensors", StringComparison.Ordinal));
    }

    /// <summary>Deletes a folder and what it holds; a failure is ignored (a later save or load tries again).</summary>
    public static void DeleteBestEffort(string folder)
    {
        try { Directory.Delete(folder, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
