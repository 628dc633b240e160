using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using U2A.Testing.Benchmark;

namespace U2A.Quickstart;

/// <summary>
/// Runs the benchmark's seeds in child processes of this program, two at a time, and joins their outcomes. Processes, not
/// threads: each child is single-threaded, so the figures equal an in-process run's, and no TorchSharp state is shared.
/// </summary>
internal static class SeedWorkers
{
    /// <summary>The hidden worker options: run one seed, write its outcome as JSON.</summary>
    public const string WorkerOption = "--worker-seed", WorkerOutOption = "--worker-out";

    /// <summary>Runs every seed of <paramref name="settings"/> in child processes; returns the outcomes in seed order.</summary>
    /// <exception cref="InvalidOperationException">A child failed; the message holds the end of its error output.</exception>
    public static SeedOutcome[] Run(SafetyBenchmarkSettings settings, string[] args, int parallel, TextWriter output, CancellationToken ct)
    {
        string temp = Path.Combine(Path.GetTempPath(), $"u2a-seeds-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        var fractions = new double[settings.Seeds.Length];
        var gate = new object();
        try
        {
            var outcomes = new SeedOutcome[settings.Seeds.Length];
            using var slots = new SemaphoreSlim(parallel);
            var tasks = settings.Seeds.Select((seed, k) => Task.Run(() =>
            {
                slots.Wait(ct);
                try
                {
                    string file = Path.Combine(temp, $"seed-{k}.json");
                    RunChild(seed, file, args, line =>
                    {
                        // A child's line: "<fraction> <message>".
                        int space = line.IndexOf(' ');
                        if (space < 0 || !double.TryParse(line[..space], NumberStyles.Float, CultureInfo.InvariantCulture, out var f)) return;
                        lock (gate)
                        {
                            fractions[k] = f;
                            output.WriteLine($"[{fractions.Average(),4:P0}] {line[(space + 1)..]}");
                        }
                    }, ct);
                    outcomes[k] = JsonSerializer.Deserialize<SeedOutcome>(File.ReadAllText(file), SafetyBenchmarkReport.JsonOptions)
                        ?? throw new InvalidOperationException($"the worker of seed {seed} wrote no outcome.");
                }
                finally
                {
                    slots.Release();
                }
            }, ct)).ToArray();
            try
            {
                Task.WaitAll(tasks, ct);
            }
            catch (AggregateException e)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.Flatten().InnerExceptions[0]).Throw();
            }
            return outcomes;
        }
        finally
        {
            try { Directory.Delete(temp, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Runs one seed in this process and writes its outcome (temporary name, then rename): the worker's side.</summary>
    public static int Work(SafetyBenchmarkSettings settings, int seed, string outFile, TextWriter output, CancellationToken ct)
    {
        var outcome = new SafetyBenchmark(settings).RunSeed(seed, new LineWriter(output), ct);
        string temp = outFile + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(outcome, SafetyBenchmarkReport.JsonOptions));
        File.Move(temp, outFile, overwrite: true);
        return 0;
    }

    private static void RunChild(int seed, string file, string[] args, Action<string> onLine, CancellationToken ct)
    {
        string host = Environment.ProcessPath ?? throw new InvalidOperationException("the path of this program is unknown.");
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // Run through `dotnet U2A.Quickstart.dll` or the app host, whichever started this process.
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            start.ArgumentList.Add(typeof(SeedWorkers).Assembly.Location);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.ArgumentList.Add(WorkerOption); start.ArgumentList.Add(seed.ToString(CultureInfo.InvariantCulture));
        start.ArgumentList.Add(WorkerOutOption); start.ArgumentList.Add(file);
        using var child = Process.Start(start) ?? throw new InvalidOperationException($"could not start the worker of seed {seed}.");
        var errors = new System.Text.StringBuilder();
        child.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (errors) errors.AppendLine(e.Data); };
        child.OutputDataReceived += (_, e) => { if (e.Data is not null) onLine(e.Data); };
        child.BeginErrorReadLine();
        child.BeginOutputReadLine();
        using (ct.Register(() => { try { child.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } }))
            child.WaitForExit();
        ct.ThrowIfCancellationRequested();
        if (child.ExitCode != 0)
        {
            string tail;
            lock (errors) tail = errors.ToString();
            if (tail.Length > 2000) tail = tail[^2000..];
            throw new InvalidOperationException($"the worker of seed {seed} exited with code {child.ExitCode}: {tail.Trim()}");
        }
    }

    /// <summary>A worker's progress: "&lt;fraction&gt; &lt;message&gt;" per line, read by the parent.</summary>
    private sealed class LineWriter(TextWriter output) : IProgress<SafetyBenchmarkProgress>
    {
        public void Report(SafetyBenchmarkProgress value)
        {
            output.WriteLine($"{value.Fraction.ToString("R", CultureInfo.InvariantCulture)} {value.Message}");
            output.Flush();
        }
    }
}
