using System.Globalization;
using TorchSharp;
using U2A.Core;
using U2A.Testing.Benchmark;

namespace U2A.Quickstart;

/// <summary>The Quickstart's command line: runs <see cref="SafetyBenchmark"/>, prints progress and a table, writes report.json and plots.</summary>
public static class QuickstartApp
{
    /// <summary>Runs the benchmark as the command line asks; returns the process exit code.</summary>
    public static int Run(string[] args, TextWriter output, CancellationToken cancellationToken = default)
    {
        SafetyBenchmarkSettings settings;
        string outDir;
        try
        {
            (settings, outDir) = Parse(args);
            settings.Validate();
        }
        catch (ArgumentException e)
        {
            output.WriteLine($"error: {e.Message}");
            output.WriteLine("usage: U2A.Quickstart [--quick] [--seeds 0,1,2] [--mislabeled-share 0.3] [--out DIR]");
            return 2;
        }
        // The model is tiny: intra-op threads gain nothing and slow down badly when the cores are shared.
        torch.set_num_threads(1);
        output.WriteLine($"U2A.Core {LibraryInfo.Version} on TorchSharp {typeof(torch).Assembly.GetName().Version} (libtorch {torch.__version__}), cpu, " +
            $"{Environment.ProcessorCount} cores, {torch.get_num_threads()} torch thread");
        output.WriteLine($"Benchmark: seeds {string.Join(",", settings.Seeds)}, mislabeled share {settings.MislabeledShare}, learning rates {string.Join(", ", settings.LearningRates.Select(l => l.ToString("G3", CultureInfo.InvariantCulture)))}, " +
            $"up to {settings.Rounds} rounds of {settings.StepsPerRound} steps (batch {settings.BatchSize}), patience {settings.Patience}; output in {outDir}");
        SafetyBenchmarkReport report;
        try
        {
            report = new SafetyBenchmark(settings).Run(new LineProgress(output), cancellationToken);
        }
        catch (OperationCanceledException)
        {
            output.WriteLine("cancelled; nothing written.");
            return 130;
        }
        Directory.CreateDirectory(outDir);
        // Written to temporary names and renamed, so a kill never leaves a half-written report or plot behind.
        string reportPath = Path.Combine(outDir, "report.json"), temp = reportPath + ".tmp-" + Environment.ProcessId;
        File.WriteAllText(temp, report.ToJson());
        File.Move(temp, reportPath, overwrite: true);
        BenchmarkPlots.Write(report, outDir);
        output.WriteLine();
        output.Write(BenchmarkTable.Format(report));
        output.WriteLine($"Wrote {Path.Combine(outDir, "report.json")}, pa_vs_steps.png, group_delta_pa.png, score_histogram.png ({report.TotalSeconds:F0} s).");
        return 0;
    }

    private static (SafetyBenchmarkSettings Settings, string OutDir) Parse(string[] args)
    {
        var settings = args.Contains("--quick") ? SafetyBenchmarkSettings.Quick : new SafetyBenchmarkSettings();
        string outDir = Path.Combine(Environment.CurrentDirectory, "u2a-benchmark");
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--quick": break;
                case "--seeds":
                    string seeds = Value();
                    try { settings = settings with { Seeds = seeds.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray() }; }
                    catch (FormatException) { throw new ArgumentException($"--seeds takes comma-separated integers, got \"{seeds}\"."); }
                    break;
                case "--mislabeled-share":
                    string share = Value();
                    if (!double.TryParse(share, NumberStyles.Float, CultureInfo.InvariantCulture, out var s))
                        throw new ArgumentException($"--mislabeled-share takes a number in [0, 1), got \"{share}\".");
                    settings = settings with { MislabeledShare = s };
                    break;
                case "--out": outDir = Path.GetFullPath(Value()); break;
                default: throw new ArgumentException($"unknown option \"{args[i]}\".");
            }
        }
        return (settings, outDir);
    }

    /// <summary>Writes each progress report as a line, in order, on the calling thread.</summary>
    private sealed class LineProgress(TextWriter output) : IProgress<SafetyBenchmarkProgress>
    {
        public void Report(SafetyBenchmarkProgress value) => output.WriteLine($"[{value.Fraction,4:P0}] {value.Message}");
    }
}
