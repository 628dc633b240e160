using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using U2A.Core.Alignment;
using U2A.Core.Influence;
using U2A.Core.Models;
using U2A.Core.Models.Gpt2;
using U2A.Core.Optimization;
using U2A.Core.Training;
using U2A.Core.Unlearning;
using static TorchSharp.torch;

/// <summary>What the memory benchmark measured (for summary.json); a figure it could not measure is NaN.</summary>
internal sealed record MemoryResult(long LiveTensorGrowth, double RssGrowthRatio, double ScoringRssRatio1024Vs64, double ExactVsLoopPeakRatio);

/// <summary>
/// Memory of the inner loop and of influence scoring (issue 12), on the scoring benchmark's model (random GPT-2, 4 layers,
/// n_embd 256, vocabulary <c>--vocab</c>) and its random-token data, CPU, one torch thread.
/// <list type="bullet">
/// <item>Inner steps: weighted GradAscent steps through <see cref="TrainingLoop"/> with the inner run's default options
/// (AdamW 1e-4, cosine schedule, clipping at 1), batch 8 of a pool of 64 in a seeded order (as the library's inner run
/// does); live tensors (TorchSharp's count of this thread) and VmRSS after a warm-up and every 100 steps.</item>
/// <item>Scoring peaks: the process's peak resident memory (VmHWM) over one <see cref="InfluenceScorer.Score(BilevelProblem, InfluenceDirection, CancellationToken)"/>
/// call on <see cref="UnlearningProblem.AtWeights"/>, after resetting the high-water mark (writing 5 to /proc/self/clear_refs).
/// Measured twice in this process, then twice each in fresh child processes (this program with a hidden flag), because
/// memory that glibc keeps after an earlier call raises the baseline of a later one and can hide its growth. The summary
/// takes the child processes' figures (the mean of the two runs); nothing is subtracted, and the baseline is printed.</item>
/// </list>
/// </summary>
internal static class MemoryBench
{
    /// <summary>The hidden flag that makes this program one child measurement: <c>--memory-child METHOD N</c>.</summary>
    public const string ChildFlag = "--memory-child";

    private const int WarmupSteps = 50, Steps = 1000, SampleEvery = 100, InnerPool = 64, InnerBatch = 8, ChunkSize = 32;

    private static readonly (string Method, int N)[] Cases = [("exact", 64), ("exact", 1024), ("fd", 64), ("fd", 1024), ("loop", 64)];

    /// <summary>Runs both parts and prints their tables.</summary>
    public static MemoryResult Run(BenchOptions o, Device device)
    {
        int threads = get_num_threads();
        set_num_threads(1);
        try
        {
            var (growth, ratio) = InnerSteps(o, device);
            var (scoringRatio, exactVsLoop) = ScoringPeaks(o, device);
            return new MemoryResult(growth, ratio, scoringRatio, exactVsLoop);
        }
        finally
        {
            set_num_threads(threads);
        }
    }

    /// <summary>One child measurement: prints <c>MEMCHILD method n baseline_kb peak_kb seconds</c>; returns the exit code.</summary>
    public static int Child(string[] args)
    {
        int at = Array.IndexOf(args, ChildFlag);
        if (at < 0 || at + 2 >= args.Length) throw new ArgumentException($"{ChildFlag} needs a method (exact, fd, loop) and a pool size.");
        string method = args[at + 1];
        int n = int.Parse(args[at + 2], CultureInfo.InvariantCulture);
        var o = BenchOptions.Parse(args.Where((_, i) => i < at || i > at + 2).ToArray());
        set_num_threads(1);
        var m = MeasureScoring(o, CPU, method, n);
        Console.WriteLine(FormattableString.Invariant($"MEMCHILD {method} {n} {m.BaselineKb} {m.PeakKb} {m.Seconds:F3}"));
        return 0;
    }

    private static (long Growth, double Ratio) InnerSteps(BenchOptions o, Device device)
    {
        Console.WriteLine();
        Console.WriteLine($"== memory, inner steps: weighted GradAscent through TrainingLoop (AdamW 1e-4, cosine, clip 1), batch {InnerBatch} of a pool of {InnerPool}, " +
            $"{WarmupSteps} warm-up + {Steps} steps, torch threads {get_num_threads()} ==");
        using var scope = NewDisposeScope();
        using var model = new Gpt2LM(ScoringConfig(o), device, ScalarType.Float32, seed: o.Seed);
        using var pool = new ForgetBatch(BenchData.Negatives(o with { N = InnerPool }, device));
        using var inner = new InnerObjective(new GradAscent());
        var rng = new Random(o.Seed * 7919 + 5);
        var w = Enumerable.Range(0, InnerPool).Select(_ => 0.5 + rng.NextDouble()).ToArray();
        using var weights = tensor(w.Select(x => x / w.Sum()).ToArray(), dtype: model.DType, device: device);
        var order = new BatchOrder(InnerPool, InnerBatch, o.Seed);
        model.SetTraining(true);
        using var loop = new TrainingLoop(model.TrainableParameters, WarmupSteps + Steps, InnerUnlearningOptions.DefaultLoop);
        // As the library's inner run: the minibatch's weights scaled by |S| / batch, an unbiased estimate of sum_i w_i l_i.
        StepLoss Loss(int step, int micro)
        {
            var positions = order.Batch(loop.MicroBatchIndex(step, micro));
            using var batch = pool.Select(positions);
            using var pos = tensor(positions, device: device);
            return new StepLoss(inner.Value(model, batch, weights.index_select(0, pos) * ((double)InnerPool / positions.Length)));
        }
        var sw = Stopwatch.StartNew();
        var warm = loop.Run(Loss, maxSteps: WarmupSteps);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var samples = new List<(int Step, long Live, long RssKb, double Loss, double Seconds)>
            { (loop.CompletedSteps, LiveCount, ProcStatusKb("VmRSS"), warm[^1].Loss, sw.Elapsed.TotalSeconds) };
        while (loop.CompletedSteps < WarmupSteps + Steps)
        {
            var run = loop.Run(Loss, maxSteps: SampleEvery);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            samples.Add((loop.CompletedSteps, LiveCount, ProcStatusKb("VmRSS"), run[^1].Loss, sw.Elapsed.TotalSeconds));
        }
        model.SetTraining(false);
        Console.WriteLine($"{"after step",10} {"live tensors",13} {"VmRSS MiB",10} {"loss",10} {"s",7}");
        foreach (var s in samples)
            Console.WriteLine($"{s.Step,10} {s.Live,13} {s.RssKb / 1024.0,10:F1} {s.Loss,10:G4} {s.Seconds,7:F1}");
        long growth = samples[^1].Live - samples[0].Live;
        double ratio = (double)samples[^1].RssKb / samples[0].RssKb;
        Console.WriteLine($"live tensor growth over {Steps} steps: {growth} (goal 0); VmRSS after / after warm-up: {ratio:F3} (goal: at most 1.05)");
        return (growth, ratio);
    }

    private static (double ScoringRatio, double ExactVsLoop) ScoringPeaks(BenchOptions o, Device device)
    {
        Console.WriteLine();
        Console.WriteLine($"== memory, scoring peaks: peak VmRSS (VmHWM after writing 5 to /proc/self/clear_refs) over one Score call on UnlearningProblem.AtWeights, " +
            $"chunk {ChunkSize}, random-token pools, torch threads {get_num_threads()}; each call after a one-chunk warm-up of the same method ==");
        bool canReset = ResetPeak();
        var inProcess = new List<(string Where, string Method, int N, long BaselineKb, long PeakKb, double Seconds)>();
        if (canReset)
        {
            for (int round = 1; round <= 2; round++)
                foreach (var (method, n) in Cases)
                {
                    var m = MeasureScoring(o, device, method, n);
                    inProcess.Add(($"this process, run {round}", method, n, m.BaselineKb, m.PeakKb, m.Seconds));
                }
        }
        else
        {
            Console.WriteLine("/proc/self/clear_refs is not writable: the peak cannot be reset in this process; child processes only (their VmHWM covers their whole life).");
        }

        var children = new List<(string Where, string Method, int N, long BaselineKb, long PeakKb, double Seconds)>();
        for (int round = 1; round <= 2; round++)
            foreach (var (method, n) in Cases)
            {
                var m = RunChild(o, method, n);
                children.Add(($"child process, run {round}", method, n, m.BaselineKb, m.PeakKb, m.Seconds));
            }

        Console.WriteLine($"{"where",-22} {"method",-6} {"N",5} {"baseline MiB",13} {"peak MiB",9} {"peak-base",10} {"s",7}");
        foreach (var r in inProcess.Concat(children))
            Console.WriteLine($"{r.Where,-22} {r.Method,-6} {r.N,5} {r.BaselineKb / 1024.0,13:F1} {r.PeakKb / 1024.0,9:F1} {(r.PeakKb - r.BaselineKb) / 1024.0,10:F1} {r.Seconds,7:F1}");

        double Peak(IEnumerable<(string Where, string Method, int N, long BaselineKb, long PeakKb, double Seconds)> rows, string method, int n) =>
            rows.Where(r => r.Method == method && r.N == n).Select(r => (double)r.PeakKb).DefaultIfEmpty(double.NaN).Average();
        foreach (var (label, rows) in new[] { ("child processes", children), ("this process", inProcess) })
        {
            if (rows.Count == 0) continue;
            Console.WriteLine($"{label} (mean of the two runs): peak N=1024 / N=64: exact {Peak(rows, "exact", 1024) / Peak(rows, "exact", 64):F3}, " +
                $"fd {Peak(rows, "fd", 1024) / Peak(rows, "fd", 64):F3}; exact (chunk {ChunkSize}) / loop at N=64: {Peak(rows, "exact", 64) / Peak(rows, "loop", 64):F3}");
        }
        double scoringRatio = Peak(children, "exact", 1024) / Peak(children, "exact", 64);
        double exactVsLoop = Peak(children, "exact", 64) / Peak(children, "loop", 64);
        Console.WriteLine($"summary (child processes): scoring peak 1024 vs 64 (exact) {scoringRatio:F3} (goal: at most 1.2); exact vs loop peak {exactVsLoop:F3}");
        return (scoringRatio, exactVsLoop);
    }

    /// <summary>Builds the scoring setting for a pool of <paramref name="n"/>, warms the method up on one chunk, resets the
    /// peak, and measures one Score call over the whole pool.</summary>
    private static (long BaselineKb, long PeakKb, double Seconds) MeasureScoring(BenchOptions o, Device device, string method, int n)
    {
        var scorer = new InfluenceScorer(method switch
        {
            "exact" => ScoringMethod.BatchedExact,
            "fd" => ScoringMethod.FiniteDifference,
            "loop" => ScoringMethod.PerExampleLoop,
            _ => throw new ArgumentException($"unknown scoring method '{method}' (expected exact, fd, loop)."),
        }, chunkSize: ChunkSize);
        (long, long, double) result;
        using (var scope = NewDisposeScope())
        {
            using var model = new Gpt2LM(ScoringConfig(o), device, ScalarType.Float32, seed: o.Seed);
            model.SetTraining(false);
            using var reference = new ParameterSnapshotReference(model);
            var (chosen, rejected) = BenchData.PreferencePairs(o, device);
            using var preferences = PreferenceBatch.WithReference(chosen, rejected, reference);
            using var pool = new ForgetBatch(BenchData.Negatives(o with { N = n }, device));
            using var inner = new InnerObjective(new GradAscent());
            var problem = new UnlearningProblem(model, pool, inner, new DpoObjective(preferences));
            var all = Enumerable.Range(0, n).ToArray();
            var bilevel = problem.AtWeights(all, all.Select(_ => 1.0 / n).ToArray(), hessianBatchSize: ChunkSize, sampleSeed: o.Seed);
            using var v = new IdentityEstimator().Estimate(bilevel);
            using (NewDisposeScope()) scorer.Score(bilevel, v, Enumerable.Range(0, Math.Min(n, ChunkSize)).Select(i => (long)i).ToArray());
            GC.Collect();
            GC.WaitForPendingFinalizers();
            long baseline = ProcStatusKb("VmRSS");
            ResetPeak();
            var sw = Stopwatch.StartNew();
            using (NewDisposeScope()) scorer.Score(bilevel, v);
            double seconds = sw.Elapsed.TotalSeconds;
            result = (baseline, ProcStatusKb("VmHWM"), seconds);
        }
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return result;
    }

    /// <summary>Runs this program as a child measurement and reads its MEMCHILD line.</summary>
    private static (long BaselineKb, long PeakKb, double Seconds) RunChild(BenchOptions o, string method, int n)
    {
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("the path of this process is unknown: cannot start child measurements.");
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // Under `dotnet U2A.Benchmarks.dll` the host is dotnet and the program is its first argument.
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(MemoryBench).Assembly.Location);
        foreach (var a in new[] { ChildFlag, method, n.ToString(CultureInfo.InvariantCulture), "--vocab", o.Vocab.ToString(CultureInfo.InvariantCulture),
                     "--seed", o.Seed.ToString(CultureInfo.InvariantCulture), "--pairs", o.Pairs.ToString(CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(a);
        using var child = Process.Start(start) ?? throw new InvalidOperationException($"could not start {self}.");
        var stderr = child.StandardError.ReadToEndAsync();
        string stdout = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        var line = stdout.Split('\n').FirstOrDefault(l => l.StartsWith("MEMCHILD ", StringComparison.Ordinal));
        if (child.ExitCode != 0 || line is null)
            throw new InvalidOperationException($"the child measurement {method} N={n} failed (exit code {child.ExitCode}): {stdout}{stderr.Result}");
        var f = line.Split(' ');
        return (long.Parse(f[3], CultureInfo.InvariantCulture), long.Parse(f[4], CultureInfo.InvariantCulture), double.Parse(f[5], CultureInfo.InvariantCulture));
    }

    /// <summary>The scoring benchmark's model (Program.cs).</summary>
    private static Gpt2Config ScoringConfig(BenchOptions o) => new(VocabSize: o.Vocab, NEmbd: 256, NLayer: 4, NHead: 4, NPositions: 64);

    private static long LiveCount => DisposeScopeManager.Statistics.ThreadTotalLiveCount;

    /// <summary>Resets the kernel's peak-RSS mark of this process to its current RSS; false when /proc/self/clear_refs is not writable.</summary>
    private static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    /// <summary>A kB field of /proc/self/status (VmRSS, VmHWM).</summary>
    private static long ProcStatusKb(string field)
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"/proc/self/status has no {field} line.");
        return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }
}
