using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;

namespace U2A.Core.Tests.Shared;

/// <summary>One run of the kill probe (tests/U2A.Core.KillProbe) as a child process, with its output lines.</summary>
internal sealed class KillProbeProcess : IDisposable
{
    /// <summary>Milliseconds each step of a save sleeps in the child, so random kills often land inside saves.</summary>
    public const int SaveStepDelayMs = 25;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120); // a hang guard, not a measurement

    private readonly Process _process;
    private readonly BlockingCollection<(string Line, TimeSpan At)> _lines = new();
    private readonly List<(string Line, TimeSpan At)> _seen = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly System.Text.StringBuilder _stderr = new();

    public KillProbeProcess(string checkpointFolder, string resultFile, int outer, int inner, bool restoreBest)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "exec", ProbePath(), checkpointFolder, resultFile, outer.ToString(), inner.ToString(), restoreBest ? "true" : "false" })
            start.ArgumentList.Add(a);
        start.Environment["U2A_CHECKPOINT_TEST_DELAY_MS"] = SaveStepDelayMs.ToString();
        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => { if (e.Data is null) _lines.CompleteAdding(); else _lines.Add((e.Data, _clock.Elapsed)); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Output lines read so far, each with the time since the process started at which it was read.</summary>
    public IReadOnlyList<(string Line, TimeSpan At)> Seen => _seen;

    public string StandardError { get { lock (_stderr) return _stderr.ToString(); } }

    /// <summary>Waits for the next line that starts with <paramref name="prefix"/>; fails if the child exits first.</summary>
    public string WaitFor(string prefix)
    {
        while (true)
        {
            if (!_lines.TryTake(out var item, Patience))
                throw _lines.IsAddingCompleted
                    ? new InvalidOperationException($"the kill probe exited (code {ExitCodeOrNull()}) before printing '{prefix}'; seen: {SeenText}; stderr: {StandardError}")
                    : new TimeoutException($"the kill probe printed no line for {Patience.TotalSeconds} s; seen: {SeenText}; stderr: {StandardError}");
            _seen.Add(item);
            if (item.Line.StartsWith(prefix, StringComparison.Ordinal)) return item.Line;
        }
    }

    private string SeenText => string.Join(" / ", _seen.Select(s => s.Line));

    /// <summary>Reads every line printed so far without blocking.</summary>
    public void Drain()
    {
        while (_lines.TryTake(out var line)) _seen.Add(line);
    }

    public bool HasExited => _process.HasExited;

    private string ExitCodeOrNull()
    {
        _process.WaitForExit(1000);
        return _process.HasExited ? _process.ExitCode.ToString() : "none yet";
    }

    /// <summary>SIGKILL (Process.Kill on Linux), then waits for the process to be gone.</summary>
    public void Kill()
    {
        try { _process.Kill(); }
        catch (InvalidOperationException) { } // it exited on its own just before
        _process.WaitForExit();
    }

    /// <summary>Waits for a normal exit and returns the exit code.</summary>
    public int WaitForExit()
    {
        if (!_process.WaitForExit(Patience)) { Kill(); throw new TimeoutException($"the kill probe did not finish within {Patience.TotalSeconds} s."); }
        _process.WaitForExit(); // flushes the output events
        Drain();
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited) Kill();
        _process.Dispose();
        _lines.Dispose();
    }

    private static string ProbePath()
    {
        string path = typeof(KillProbeProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "KillProbePath").Value!;
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: the kill probe is not built; build tests/U2A.Core.Tests (it builds tests/U2A.Core.KillProbe).", path);
        return path;
    }

    private static string DotnetHost()
    {
        string? self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet") return self;
        return Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
    }
}
