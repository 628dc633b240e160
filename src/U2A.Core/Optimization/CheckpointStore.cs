using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace U2A.Core.Optimization;

/// <summary>
/// The on-disk layout of a checkpoint folder: numbered generations, each committed by one directory rename after its
/// files and a manifest of their SHA-256 hashes are on disk. See <see cref="BilevelCheckpoint.Save"/> for the layout.
/// </summary>
internal static partial class CheckpointStore
{
    public const string ManifestFile = "manifest.json";
    public const string LockFile = ".lock";
    public const int FormatVersion = 2;

    /// <summary>Committed generations kept after a save: the new one and the previous one (the fallback).</summary>
    public const int KeptGenerations = 2;

    [GeneratedRegex(@"^gen-(\d{1,18})$", RegexOptions.CultureInvariant)]
    private static partial Regex CommittedName();

    [GeneratedRegex(@"^gen-(\d{1,18})\.tmp(-.*)?$", RegexOptions.CultureInvariant)]
    private static partial Regex TemporaryName();

    /// <summary>The environment variable of the kill tests' hook: milliseconds to sleep after each step of a save.</summary>
    public const string TestDelayVariable = "U2A_CHECKPOINT_TEST_DELAY_MS";

    /// <summary>
    /// A test hook, read at each save: <c>U2A_CHECKPOINT_TEST_DELAY_MS</c> stretches every step of a save (after each
    /// file, after the manifest, after the commit) so that a test that kills the process at random instants lands
    /// inside saves often. 0 when unset or not a number from 0 to 10000.
    /// </summary>
    public static int TestDelayMilliseconds() =>
        int.TryParse(Environment.GetEnvironmentVariable(TestDelayVariable), NumberStyles.None, CultureInfo.InvariantCulture, out int ms) && ms <= 10_000 ? ms : 0;

    public static string GenerationName(long generation) => "gen-" + generation.ToString("D9", CultureInfo.InvariantCulture);

    /// <summary>Committed generations in <paramref name="directory"/>, newest first.</summary>
    public static IReadOnlyList<(long Generation, string Path)> Committed(string directory) =>
        !Directory.Exists(directory) ? Array.Empty<(long, string)>()
        : Directory.EnumerateDirectories(directory)
            .Select(d => (Match: CommittedName().Match(System.IO.Path.GetFileName(d)), Path: d))
            .Where(x => x.Match.Success)
            .Select(x => (long.Parse(x.Match.Groups[1].Value, CultureInfo.InvariantCulture), x.Path))
            .OrderByDescending(x => x.Item1)
            .ToArray();

    /// <summary>Folders of saves that never committed (killed or failed mid-way).</summary>
    public static IReadOnlyList<(long Generation, string Path)> Temporary(string directory) =>
        !Directory.Exists(directory) ? Array.Empty<(long, string)>()
        : Directory.EnumerateDirectories(directory)
            .Select(d => (Match: TemporaryName().Match(System.IO.Path.GetFileName(d)), Path: d))
            .Where(x => x.Match.Success)
            .Select(x => (long.Parse(x.Match.Groups[1].Value, CultureInfo.InvariantCulture), x.Path))
            .ToArray();

    /// <summary>
    /// Takes the folder's writer lock (an exclusive lock on <c>.lock</c>, released by the OS when the process dies, even
    /// by kill -9), or returns null when another writer holds it (or the folder is read-only) and <paramref name="required"/> is false.
    /// </summary>
    /// <exception cref="IOException">Another writer holds the lock and <paramref name="required"/> is true.</exception>
    public static FileStream? Lock(string directory, bool required)
    {
        string path = System.IO.Path.Combine(directory, LockFile);
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (UnauthorizedAccessException) when (!required)
        {
            return null; // a read-only folder: a reader leaves it as it is
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            if (!required) return null;
            throw new IOException($"{directory}: another run (process or thread) is writing a checkpoint here, it holds {path}; " +
                "give each run its own BilevelOptions.CheckpointDirectory.", e);
        }
    }

    /// <summary>Removes uncommitted save folders. Call with the writer lock held: no save can then be in progress.</summary>
    public static void RemoveTemporary(string directory)
    {
        foreach (var (_, path) in Temporary(directory)) DeleteFolder(path);
    }

    /// <summary>Removes every committed generation but the newest <see cref="KeptGenerations"/>, oldest first.</summary>
    public static void Prune(string directory)
    {
        foreach (var (_, path) in Committed(directory).Skip(KeptGenerations).Reverse()) DeleteFolder(path);
    }

    /// <summary>
    /// What a load may tidy when no run is writing to the folder: leftovers of killed saves, and generations beyond the
    /// newest <see cref="KeptGenerations"/> that are older than the one just loaded (a kill between a save's commit and
    /// its pruning leaves them). Generations at or above the loaded one are kept, even unusable ones.
    /// </summary>
    public static void Tidy(string directory, long? loadedGeneration)
    {
        if (!Directory.Exists(directory)) return;
        var stale = Committed(directory).Skip(KeptGenerations).Where(g => loadedGeneration is { } loaded && g.Generation < loaded).ToArray();
        if (stale.Length == 0 && Temporary(directory).Count == 0) return;
        try
        {
            using var writerLock = Lock(directory, required: false);
            if (writerLock is null) return; // a run is writing (or the folder is read-only): leave it alone
            RemoveTemporary(directory);
            foreach (var (_, path) in stale.Reverse()) DeleteFolder(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Housekeeping only: what is left is removed by the next save.
        }
    }

    private static void DeleteFolder(string path)
    {
        try { Directory.Delete(path, recursive: true); }
        catch (DirectoryNotFoundException) { }
    }

    /// <summary>One file of a generation as the manifest records it.</summary>
    public sealed record FileEntry(string Name, long Size, string Sha256);

    /// <summary>The manifest: written last into a generation, so a generation with a valid manifest is complete.</summary>
    public sealed record Manifest(int Format, long Generation, FileEntry[] Files);

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    /// <summary>Writes the bytes and forces them to the disk.</summary>
    public static void WriteDurably(string path, byte[] bytes)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        stream.Write(bytes);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Forces a file written by someone else to the disk and returns its manifest entry.</summary>
    public static FileEntry SyncAndHash(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        stream.Flush(flushToDisk: true);
        var hash = SHA256.HashData(stream);
        return new FileEntry(System.IO.Path.GetFileName(path), stream.Length, Convert.ToHexString(hash));
    }

    public static void WriteManifest(string folder, long generation, IReadOnlyList<FileEntry> files) =>
        WriteDurably(System.IO.Path.Combine(folder, ManifestFile),
            JsonSerializer.SerializeToUtf8Bytes(new Manifest(FormatVersion, generation, files.ToArray()), Json));

    /// <summary>Reads the manifest of a committed generation and checks the size and SHA-256 of every file it names.</summary>
    /// <exception cref="InvalidDataException">The manifest is missing or unreadable, or a file is missing, of another size or another hash; the message names it.</exception>
    public static Manifest Verify(string folder, params string[] required)
    {
        string path = System.IO.Path.Combine(folder, ManifestFile);
        if (!File.Exists(path))
            throw new InvalidDataException($"{path}: missing; the generation was not completely written (the manifest is written last).");
        Manifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<Manifest>(File.ReadAllBytes(path), Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid checkpoint manifest ({e.Message}).", e);
        }
        if (manifest is null) throw new InvalidDataException($"{path}: empty checkpoint manifest.");
        if (manifest.Format != FormatVersion)
            throw new InvalidDataException($"{path}: format {manifest.Format}; this version reads format {FormatVersion}.");
        foreach (var name in required)
            if (!manifest.Files.Any(f => f.Name == name))
                throw new InvalidDataException($"{path}: does not list {name}.");
        foreach (var entry in manifest.Files)
        {
            if (entry.Name.IndexOfAny(new[] { '/', '\\' }) >= 0 || entry.Name is "." or "..")
                throw new InvalidDataException($"{path}: file name '{entry.Name}' is not a plain file name.");
            string file = System.IO.Path.Combine(folder, entry.Name);
            if (!File.Exists(file)) throw new InvalidDataException($"{file}: missing (listed in {ManifestFile}).");
            using var stream = File.OpenRead(file);
            if (stream.Length != entry.Size)
                throw new InvalidDataException($"{file}: {stream.Length} bytes, but {ManifestFile} records {entry.Size} (truncated or overwritten).");
            string actual = Convert.ToHexString(SHA256.HashData(stream));
            if (!string.Equals(actual, entry.Sha256, StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException($"{file}: SHA-256 {actual}, but {ManifestFile} records {entry.Sha256} (the file is corrupt).");
        }
        return manifest;
    }

    /// <summary>
    /// Forces a directory's entries (a rename, a new file) to the disk where the OS allows it (Linux, macOS); elsewhere
    /// a no-op. A kill -9 needs none of this (the page cache survives it); a power loss does.
    /// </summary>
    public static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        try
        {
            int fd = open(directory, 0 /* O_RDONLY */);
            if (fd < 0) return;
            try { _ = fsync(fd); }
            finally { _ = close(fd); }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Best effort: without libc the rename is still atomic, only its durability across a power loss is not forced.
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int fsync(int fd);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);
}
