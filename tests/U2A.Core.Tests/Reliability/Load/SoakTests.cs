using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using U2A.Core.Optimization;
using U2A.Core.Tests.Reliability.Checkpoints;
using Xunit.Abstractions;

namespace U2A.Core.Tests.Reliability.Load;

/// <summary>Tests that read the process's resident memory: they run alone, after the parallel ones.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessMemoryCollection
{
    public const string Name = "process memory";
}

/// <summary>
/// A 2,000-step soak of the whole outer loop (inner unlearning steps, scoring, mirror descent, evaluation and a
/// checkpoint every 50 steps): after a warm-up of 500 steps the live-tensor count must not move at all and resident
/// memory must grow less than 5 %.
/// </summary>
[Collection(ProcessMemoryCollection.Name)]
public sealed class SoakTests(ITestOutputHelper output) : IDisposable
{
    private const int InnerSteps = 50, WarmUpIterations = 10;
    private readonly string _dir = Directory.CreateTempSubdirectory("u2a-soak-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Steps of the soak: 2,000 (about 8 s of CPU); U2A_SOAK_STEPS overrides it (rounded down to a multiple of 50, at least 600).</summary>
    private static int Steps => int.TryParse(Environment.GetEnvironmentVariable("U2A_SOAK_STEPS"), NumberStyles.None, CultureInfo.InvariantCulture, out int s) && s >= 50 * (WarmUpIterations + 2)
        ? s / InnerSteps * InnerSteps : 2_000;

    [Fact]
    public void Two_thousand_inner_steps_with_checkpoints_keep_live_tensors_flat_and_resident_memory_within_5_percent()
    {
        int outer = Steps / InnerSteps;
        // One torch thread: the tiny model gains nothing from two, and on a busy 2-core machine a second spinning
        // OpenMP thread made the soak several times slower. Safe to change here: this collection runs alone.
        int threads = torch.get_num_threads();
        torch.set_num_threads(1);
        try { Soak(outer); }
        finally { torch.set_num_threads(threads); }
    }

    private void Soak(int outer)
    {
        using var pipeline = new ProbePipeline();
        var live = new List<long>();
        var rss = new List<long>();
        var progress = new SyncProgress<BilevelProgress>(p =>
        {
            if (p.Phase != BilevelPhase.Evaluate) return;
            live.Add(DisposeScopeManager.Statistics.ThreadTotalLiveCount);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            rss.Add(ResidentBytes());
        });
        var clock = Stopwatch.StartNew();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var options = ProbePipeline.Options(outer, InnerSteps, restoreBest: true, Path.Combine(_dir, "ckpt")) with { Stopping = new StoppingOptions { PaPatience = outer + 1 } };
        var result = pipeline.Optimizer(options).Run(progress);
        var elapsed = clock.Elapsed;
        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;

        Assert.Equal(outer + 1, result.History.Count);
        Assert.Equal(Steps, result.History.Sum(h => h.InnerSteps));
        Assert.Equal(outer + 1, live.Count);
        long warmLive = live[WarmUpIterations], warmRss = rss[WarmUpIterations];
        double growth = (double)(rss.Skip(WarmUpIterations).Max() - warmRss) / warmRss;
        output.WriteLine($"{Steps} inner steps in {outer} outer iterations (each with scoring, reweighting, evaluation and a checkpoint) in {elapsed.TotalSeconds:F1} s ({cpu.TotalSeconds:F1} s of CPU)");
        output.WriteLine($"live tensors after each outer iteration: {string.Join(" ", live)}");
        output.WriteLine($"resident MiB after each outer iteration: {string.Join(" ", rss.Select(b => (b / 1048576.0).ToString("F1", CultureInfo.InvariantCulture)))}");
        output.WriteLine($"after warm-up ({WarmUpIterations * InnerSteps} steps): live tensors {warmLive} -> {live[^1]} (max {live.Skip(WarmUpIterations).Max()}), " +
            $"resident {warmRss / 1048576.0:F1} MiB -> max {rss.Skip(WarmUpIterations).Max() / 1048576.0:F1} MiB ({growth:P2})");
        Assert.All(live.Skip(WarmUpIterations), n => Assert.Equal(warmLive, n));
        Assert.True(growth < 0.05, $"resident memory grew {growth:P2} after warm-up: {string.Join(" ", rss)}");
    }

    /// <summary>VmRSS of /proc/self/status where there is one (Linux), else the working set.</summary>
    private static long ResidentBytes()
    {
        const string status = "/proc/self/status";
        if (File.Exists(status))
            foreach (var line in File.ReadLines(status))
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        using var self = Process.GetCurrentProcess();
        return self.WorkingSet64;
    }

}
