using System.Reflection;
using Microsoft.Extensions.Logging;

namespace U2A.Core.Tests.Shared;

/// <summary>
/// Paths of the real dataset samples and small test helpers. The MIT-licensed samples (HH-RLHF, AdvBench) are committed
/// under tests/data/real; the CC-BY-NC PKU-SafeRLHF sample is read from shared/data/real beside the repository.
/// </summary>
internal static class RealData
{
    private static string Root => typeof(RealData).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "RepoRoot").Value!;

    /// <summary>The committed samples.</summary>
    public static string CommittedDir => Path.GetFullPath(Path.Combine(Root, "tests", "data", "real"));

    /// <summary>The samples beside the repository (only CI and developers have them).</summary>
    public static string Dir
    {
        get
        {
            var dir = Path.GetFullPath(Path.Combine(Root, "..", "shared", "data", "real"));
            if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"the real data samples are expected at {dir} (a copy of shared/ beside the repository).");
            return dir;
        }
    }

    /// <summary>
    /// Skips the calling [SkippableFact] when shared/data/real is absent: the PKU-SafeRLHF sample is CC-BY-NC and may
    /// not be committed. CI always has the folder, so there these tests run.
    /// </summary>
    public static void RequireShared()
    {
        var dir = Path.GetFullPath(Path.Combine(Root, "..", "shared", "data", "real"));
        Skip.IfNot(Directory.Exists(dir), $"needs the CC-BY-NC PKU-SafeRLHF sample in {dir} (shared/ beside the repository), which may not be committed");
    }

    public static string HhRlhf => Path.Combine(CommittedDir, "hh_rlhf_harmless_base_test.first1000.jsonl");
    public static string Pku => Path.Combine(Dir, "pku_saferlhf_alpaca7b_test.first20.jsonl");
    public static string AdvBench => Path.Combine(CommittedDir, "advbench_harmful_behaviors.csv");
}

/// <summary>An ILogger that keeps what it is given.</summary>
internal sealed class ListLogger : ILogger
{
    public List<(LogLevel Level, string Message)> Entries { get; } = [];

    /// <summary>The entries as "Level: message" lines.</summary>
    public IReadOnlyList<string> Lines => Entries.Select(e => $"{e.Level}: {e.Message}").ToList();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Add((logLevel, formatter(state, exception)));
}

/// <summary>Writes text to a temporary file, deleted on dispose.</summary>
internal sealed class TempFile : IDisposable
{
    public TempFile(string content, string extension = ".jsonl")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"u2a-{Guid.NewGuid():N}{extension}");
        File.WriteAllText(Path, content, new System.Text.UTF8Encoding(false));
    }

    public string Path { get; }

    public void Dispose() => File.Delete(Path);
}
