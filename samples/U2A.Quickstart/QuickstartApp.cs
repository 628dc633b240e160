using System.Globalization;
using TorchSharp;
using U2A.Core;
using U2A.Testing.Benchmark;

namespace U2A.Quickstart;

/// <summary>The Quickstart's command line: runs <see cref="SafetyBenchmark"/>, prints progress and a table, writes report.json and plots.</summary>
public static class QuickstartApp
{
    private const string Usage = "usage: U2A.Quickstart [--quick] [--seeds 0,1,2] [--mislabeled-share 0.3] [--out DIR] [--in-process]";

    /// <summary>Runs the benchmark as the command line asks; returns the process exit code (0 done, 1 output not writable, 2 bad arguments, 130 cancelled).</summary>
    /// <param name="args">The command line.</param>
    /// <param name="output">Progress, table and summary.</param>
    /// <param name="cancellationToken">Stops the run; nothing is written then.</param>
    /// <param name="error">Error messages (default: <paramref name="output"/>).</param>
    public static int Run(string[] args, TextWriter output, CancellationToken cancellationToken = default, TextWriter? error = null)
    {
        error ??= output;
        if (args.Contains("--help") || args.Contains("-h"))
        {
            output.WriteLine(Usage);
            output.WriteLine("Runs the evidence benchmark (docs/benchmark.md) and writes report.json and three plots to --out (default ./u2a-benchmark).");
            return 0;
        }
        SafetyBenchmarkSettings settings;
        string outDir;
        int? workerSeed;
        string? workerOut;
        try
        {
            (settings, outDir) = Parse(args, out workerSeed, out workerOut);
            settings.Validate();
        }
        catch (ArgumentException e)
        {
            error.WriteLine($"error: {OptionName(e.Message)}");
            error.WriteLine(Usage);
            return 2;
        }
        if (workerSeed is { } seed && workerOut is not null)
        {
            torch.set_num_threads(1);
            return SeedWorkers.Work(settings, seed, workerOut, output, cancellationToken);
        }
        // Fail before hours of work, not after: the output folder must be creatable and writable.
        if (!CanWrite(outDir, out var why))
        {
            error.WriteLine($"error: --out {outDir} is not a writable folder: {why}");
            return 1;
        }
        // One intra-op thread: the model is tiny, and the figures depend on it (a second thread reorders float sums, so
        // the starting models, and every PA figure after them, come out slightly different).
        torch.set_num_threads(1);
        output.WriteLine($"U2A.Core {LibraryInfo.Version} on TorchSharp {typeof(torch).Assembly.GetName().Version} (libtorch {torch.__version__}), cpu, " +
            $"{Environment.ProcessorCount} cores, {torch.get_num_threads()} torch thread");
        output.WriteLine($"Benchmark: seeds {string.Join(",", settings.Seeds)}, mislabeled share {settings.MislabeledShare}, learning rates {string.Join(", ", settings.LearningRates.Select(l => l.ToString("G3", CultureInfo.InvariantCulture)))}, " +
            $"up to {settings.Rounds} rounds of {settings.StepsPerRound} steps (batch {settings.BatchSize}), patience {settings.Patience}; output in {outDir}");
        SafetyBenchmarkReport report;
        try
        {
            var benchmark = new SafetyBenchmark(settings);
            // Several seeds on several cores: one child process per seed, two at a time (identical figures, see SeedWorkers).
            int parallel = Math.Min(Environment.ProcessorCount, 2);
            if (settings.Seeds.Length > 1 && parallel > 1 && !args.Contains("--in-process"))
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var outcomes = SeedWorkers.Run(settings, args, parallel, output, cancellationToken);
                report = benchmark.BuildReport(outcomes, clock.Elapsed.TotalSeconds);
            }
            else report = benchmark.Run(new LineProgress(output), cancellationToken);
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("cancelled; nothing written.");
            return 130;
        }
        catch (InvalidOperationException e) when (e.Message.StartsWith("the worker", StringComparison.Ordinal))
        {
            error.WriteLine($"error: {e.Message}");
            return 1;
        }
        try
        {
            Write(report, outDir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"error: could not write the results to {outDir}: {e.Message}");
            return 1;
        }
        output.WriteLine();
        output.Write(BenchmarkTable.Format(report));
        output.WriteLine($"Wrote {Path.Combine(outDir, "report.json")}, pa_vs_steps.png, group_delta_pa.png, score_histogram.png ({report.TotalSeconds:F0} s).");
        return 0;
    }

    /// <summary>
    /// Writes the plots and report.json into a staging folder, then moves them in with report.json last: the old report
    /// goes first, so a report.json in the folder always belongs to the plots beside it, whatever instant a kill lands.
    /// </summary>
    private static void Write(SafetyBenchmarkReport report, string outDir)
    {
        string staging = Path.Combine(outDir, $".staging-{Environment.ProcessId}");
        try
        {
            Directory.CreateDirectory(staging);
            BenchmarkPlots.Write(report, staging);
            File.WriteAllText(Path.Combine(staging, "report.json"), report.ToJson());
            File.Delete(Path.Combine(outDir, "report.json"));
            foreach (var name in BenchmarkPlots.FileNames.Append("report.json"))
                File.Move(Path.Combine(staging, name), Path.Combine(outDir, name), overwrite: true);
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }

    private static bool CanWrite(string dir, out string why)
    {
        try
        {
            Directory.CreateDirectory(dir);
            string probe = Path.Combine(dir, $".write-test-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
            foreach (var name in BenchmarkPlots.FileNames.Append("report.json"))
                if (Directory.Exists(Path.Combine(dir, name))) throw new IOException($"{name} there is a folder.");
            why = "";
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            why = e.Message;
            return false;
        }
    }

    /// <summary>Names the command-line option rather than the settings field a validation message names.</summary>
    private static string OptionName(string message) => message
        .Replace("SafetyBenchmarkSettings.Seeds", "--seeds", StringComparison.Ordinal)
        .Replace("SafetyBenchmarkSettings.MislabeledShare", "--mislabeled-share", StringComparison.Ordinal);

    private static (SafetyBenchmarkSettings Settings, string OutDir) Parse(string[] args) => Parse(args, out _, out _);

    private static (SafetyBenchmarkSettings Settings, string OutDir) Parse(string[] args, out int? workerSeed, out string? workerOut)
    {
        var settings = args.Contains("--quick") ? SafetyBenchmarkSettings.Quick : new SafetyBenchmarkSettings();
        string outDir = Path.Combine(Environment.CurrentDirectory, "u2a-benchmark");
        workerSeed = null; workerOut = null;
        var seen = new HashSet<string>();
        for (int i = 0; i < args.Length; i++)
        {
            string option = args[i];
            if (!seen.Add(option)) throw new ArgumentException($"{option} is given twice.");
            string Value() => i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) && args[i + 1].Length > 0
                ? args[++i] : throw new ArgumentException($"{option} needs a value.");
            switch (option)
            {
                case "--quick": break;
                case "--seeds":
                    string seeds = Value();
                    var parsed = seeds.Split(',').Select(x => int.TryParse(x, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : (int?)null).ToArray();
                    if (parsed.Any(p => p is null)) throw new ArgumentException($"--seeds takes comma-separated integers (32-bit), got \"{seeds}\".");
                    settings = settings with { Seeds = parsed.Select(p => p!.Value).ToArray() };
                    break;
                case "--mislabeled-share":
                    string share = Value();
                    if (!double.TryParse(share, NumberStyles.Float, CultureInfo.InvariantCulture, out var s))
                        throw new ArgumentException($"--mislabeled-share takes a number in [0, 1), got \"{share}\".");
                    settings = settings with { MislabeledShare = s };
                    break;
                case "--out": outDir = Path.GetFullPath(Value()); break;
                case "--in-process": break;
                case SeedWorkers.WorkerOption:
                    string w = Value();
                    workerSeed = int.TryParse(w, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ws) ? ws
                        : throw new ArgumentException($"{SeedWorkers.WorkerOption} takes an integer, got \"{w}\".");
                    break;
                case SeedWorkers.WorkerOutOption: workerOut = Value(); break;
                default: throw new ArgumentException($"unknown option \"{option}\".");
            }
        }
        return (settings, outDir);
    }

    /// <summary>Writes each progress report as a line, in order.</summary>
    private sealed class LineProgress(TextWriter output) : IProgress<SafetyBenchmarkProgress>
    {
        public void Report(SafetyBenchmarkProgress value) => output.WriteLine($"[{value.Fraction,4:P0}] {value.Message}");
    }
}
