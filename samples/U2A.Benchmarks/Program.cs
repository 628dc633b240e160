using U2A.Core.Evaluation;
using System.Diagnostics;
using System.Runtime.InteropServices;
using TorchSharp;
using U2A.Core;
using U2A.Core.Alignment;
using U2A.Core.Data;
using U2A.Core.Influence;
using U2A.Core.Models;
using U2A.Core.Models.Gpt2;
using U2A.Core.Models.Lora;
using U2A.Core.Unlearning;
using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

// Influence-scoring throughput: the per-example loop (one backward per candidate at batch size 1, as in the U2A reference
// code) against the batched paths of InfluenceScorer (double-VJP and central finite differences), on a small random GPT-2,
// with all weights trainable and with LoRA adapters only. Prints figures; it is not a test and asserts nothing.
// CPU only: the repository's applications get the CPU libtorch backend.
// Usage: dotnet run --project samples/U2A.Benchmarks -c Release [-- --quick] [--n N or N1,N2,...] [--pairs P] [--reps R] [--seed S] [--vocab V]
//        [--out DIR] (also write DIR/summary.json) [--train-step] (also time training and unlearning steps, TrainStepBench.cs)
//        [--no-scoring] [--train-vocab V] [--train-layers L] [--train-width D] [--train-seq T] [--train-batch B]
//        [--overhead] (also measure the share of scoring and selection in one U2A+GA run of the evidence benchmark, default pool and
//        --overhead-n N candidates, default 1024; with --quick on SafetyBenchmarkSettings.Quick; OverheadBench.cs)
//        [--padding] (padding waste of FD scoring on the committed HH-RLHF sample, PaddingBench.cs)
//        [--memory] (live tensors and RSS over 1,000 inner steps, peak RSS of scoring, MemoryBench.cs)
// Tokenizer throughput instead: dotnet run --project samples/U2A.Benchmarks -c Release -- --tokenizer-only (see TokenizerBench.cs)
if (args.Contains("--tokenizer-only")) return TokenizerBench.Run(args);
if (args.Contains(MemoryBench.ChildFlag)) return MemoryBench.Child(args); // one measurement of --memory, in a fresh process
BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
var device = CPU;
var total = Stopwatch.StartNew();

Console.WriteLine($"U2A.Core {LibraryInfo.Version}, TorchSharp {typeof(torch).Assembly.GetName().Version} (libtorch {__version__}), {RuntimeInformation.FrameworkDescription}");
Console.WriteLine($"Machine: {Machine.CpuModel()}, {Environment.ProcessorCount} logical cores, torch threads {get_num_threads()}, {RuntimeInformation.OSDescription} {RuntimeInformation.ProcessArchitecture}");
double ceilingBefore = Machine.MatmulGflops(device);
Console.WriteLine($"Compute ceiling: 1024^3 float32 matmul {ceilingBefore:F1} GFLOP/s (median of 10)");

var config = new Gpt2Config(VocabSize: options.Vocab, NEmbd: 256, NLayer: 4, NHead: 4, NPositions: 64);
if (!options.NoScoring)
{
    Console.WriteLine($"Model: random GPT-2 (seed {options.Seed}), {config.NLayer} layers, n_embd {config.NEmbd}, {config.NHead} heads, vocab {config.VocabSize}, float32, eval mode");
    Console.WriteLine($"Data: N = {string.Join(" and ", options.Ns)} candidate negatives and {options.Pairs} preference pairs of random tokens, prompt {BenchData.PromptLength.Min}-{BenchData.PromptLength.Max} + " +
        $"response {BenchData.ResponseLength.Min}-{BenchData.ResponseLength.Max} tokens, right-padded; inner: GradAscent; J: DPO (beta 0.3) with cached reference log-probs; v: IdentityEstimator (gamma 1)");
    Console.WriteLine($"Timing: every method scores all N once as warm-up, then {options.Reps} rounds that run every method once each (interleaved, so drift of the shared machine hits all alike); median of the rounds (ex/s, speed-up and cost use the median; best = fastest round).");
    Console.WriteLine("rel.diff = max_i |s_i - loop_i| / max_i |loop_i|;  cost = time per example x ceiling / FLOPs of one example's forward (forward passes at peak per scored example).");
}

using var model = new Gpt2LM(config, device, ScalarType.Float32, seed: options.Seed);
model.SetTraining(false);
double forwardFlops = BenchData.ForwardFlops(config, options);
if (!options.NoScoring)
    Console.WriteLine($"One forward of one example: {forwardFlops / 1e6:F0} MFLOP (body over the mean {BenchData.MeanLength:F0} real tokens, output head over the " +
        $"{BenchData.MeanResponseLength:F0} positions that predict response tokens, the only ones the losses need and the library computes; " +
        $"{BenchData.ForwardFlops(config, options, headEverywhere: true) / 1e6:F0} MFLOP with the head at every token)");

var methods = new (string Name, InfluenceScorer Scorer)[]
{
    ("loop, batch 1", new InfluenceScorer(ScoringMethod.PerExampleLoop)),
    ("exact, chunk 8", new InfluenceScorer(ScoringMethod.BatchedExact, chunkSize: 8)),
    ("exact, chunk 16", new InfluenceScorer(ScoringMethod.BatchedExact, chunkSize: 16)),
    ("exact, chunk 32", new InfluenceScorer(ScoringMethod.BatchedExact, chunkSize: 32)),
    ("finite diff, chunk 32", new InfluenceScorer(ScoringMethod.FiniteDifference, chunkSize: 32)),
};

var scoring = new List<ScoringEntry>();
var ceilings = new List<double>(); // the per-round ceilings of every part (summary.json: their median)
if (!options.NoScoring)
{
    long liveAtStart = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
    foreach (int n in options.Ns)
    {
        var atN = options with { N = n };
        scoring.Add(Bench.RunSetting($"N = {n}, all weights trainable", "full", model, model, methods, atN, device, forwardFlops, ceilings));
        using (var lora = new LoraModel(model, new LoraOptions { TargetModules = new[] { "c_attn" }, Rank = 8, Alpha = 16, Seed = options.Seed }))
            scoring.Add(Bench.RunSetting($"N = {n}, LoRA r8 on c_attn, adapters only", "lora", lora, model, methods, atN, device, forwardFlops, ceilings));
    }
    Console.WriteLine();
    Console.WriteLine($"Live tensors (leak check): {liveAtStart} before the scoring settings, {DisposeScopeManager.Statistics.ThreadTotalLiveCount} after");
}
TrainStepResult? trainStep = options.TrainStep ? TrainStepBench.Run(options, device, ceilings) : null;
OverheadResult? overhead = options.Overhead ? OverheadBench.Run(options) : null;
double? paddingWaste = options.Padding ? PaddingBench.Run(options, device) : null;
MemoryResult? memory = options.Memory ? MemoryBench.Run(options, device) : null;

double ceilingAfter = Machine.MatmulGflops(device);
Console.WriteLine($"Compute ceiling again at the end: {ceilingAfter:F1} GFLOP/s (start {ceilingBefore:F1}); total wall time {total.Elapsed.TotalSeconds:F0} s");
if (options.Out is not null)
{
    if (ceilings.Count == 0) ceilings.AddRange(new[] { ceilingBefore, ceilingAfter });
    string path = Summary.Write(options.Out, scoring, trainStep, overhead, ceilings, paddingWaste, memory);
    Console.WriteLine($"Summary written to {path}");
}
return 0;

/// <summary>Command-line settings.</summary>
internal sealed record BenchOptions(int N, int Pairs, int Reps, int Seed, int Vocab)
{
    /// <summary>Folder for summary.json, or null for none.</summary>
    public string? Out { get; init; }

    /// <summary>Whether to time training and unlearning steps (TrainStepBench).</summary>
    public bool TrainStep { get; init; }

    /// <summary>Whether to skip the scoring settings.</summary>
    public bool NoScoring { get; init; }

    /// <summary>Whether --quick was given (the overhead benchmark then uses SafetyBenchmarkSettings.Quick).</summary>
    public bool Quick { get; init; }

    /// <summary>Whether to measure the U2A overhead share (OverheadBench).</summary>
    public bool Overhead { get; init; }

    /// <summary>The larger pool of the overhead benchmark.</summary>
    public int OverheadN { get; init; } = 1024;
    /// <summary>Whether to measure the padding waste of scoring on the HH-RLHF sample (PaddingBench).</summary>
    public bool Padding { get; init; }

    /// <summary>Whether to measure memory: inner steps and scoring peaks (MemoryBench).</summary>
    public bool Memory { get; init; }

    /// <summary>Shape of the training-step model and batch (issue 12: 6 layers, width 512, sequence 128, batch 8; GPT-2's vocabulary).</summary>
    public int TrainVocab { get; init; } = 50257;

    /// <summary>Layers of the training-step model.</summary>
    public int TrainLayers { get; init; } = 6;

    /// <summary>Width (n_embd) of the training-step model; heads are width / 64.</summary>
    public int TrainWidth { get; init; } = 512;

    /// <summary>Sequence length of the training-step batch.</summary>
    public int TrainSeq { get; init; } = 128;

    /// <summary>Rows of the training-step batch.</summary>
    public int TrainBatch { get; init; } = 8;

    /// <summary>Every N the scoring settings run at (--n 256,1024: both, one after the other, in this process).</summary>
    public int[] Ns { get; init; } = new[] { 64 };

    private static BenchOptions ParseN(BenchOptions o, string value)
    {
        var ns = value.Split(',').Select(x => int.TryParse(x, out int n) && n >= 1 ? n : throw new ArgumentException($"--n {value}: every N must be a whole number of at least 1.")).ToArray();
        return o with { N = ns[0], Ns = ns };
    }

    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions(N: 64, Pairs: 16, Reps: 3, Seed: 0, Vocab: 2048);
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            int Int()
            {
                string flag = args[i], value = Next();
                return int.TryParse(value, out int n) ? n : throw new ArgumentException($"{flag} {value}: not a whole number.");
            }
            o = args[i] switch
            {
                "--quick" => o with { N = 16, Ns = new[] { 16 }, Pairs = 8, Reps = 3, Quick = true },
                "--n" => ParseN(o, Next()),
                "--pairs" => o with { Pairs = Int() },
                "--reps" => o with { Reps = Int() },
                "--seed" => o with { Seed = Int() },
                "--vocab" => o with { Vocab = Int() },
                "--out" => o with { Out = Next() },
                "--train-step" => o with { TrainStep = true },
                "--no-scoring" => o with { NoScoring = true },
                "--overhead" => o with { Overhead = true },
                "--overhead-n" => o with { OverheadN = Int() },
                "--padding" => o with { Padding = true },
                "--memory" => o with { Memory = true },
                "--train-vocab" => o with { TrainVocab = Int() },
                "--train-layers" => o with { TrainLayers = Int() },
                "--train-width" => o with { TrainWidth = Int() },
                "--train-seq" => o with { TrainSeq = Int() },
                "--train-batch" => o with { TrainBatch = Int() },
                _ => throw new ArgumentException($"unknown argument '{args[i]}'; known: --quick --n --pairs --reps --seed --vocab --out --train-step --no-scoring --overhead --overhead-n --padding --memory " +
                    "--train-vocab --train-layers --train-width --train-seq --train-batch"),
            };
        }
        if (o.N < 1 || o.Pairs < 1 || o.Reps < 1 || o.Vocab < 2)
            throw new ArgumentException($"invalid settings {o}.");
        if (o.TrainVocab < 2 || o.TrainLayers < 1 || o.TrainSeq < 2 || o.TrainBatch < 1 || o.TrainWidth < 64 || o.TrainWidth % 64 != 0)
            throw new ArgumentException($"invalid training-step settings: --train-vocab {o.TrainVocab} (at least 2), --train-layers {o.TrainLayers} (at least 1), " +
                $"--train-width {o.TrainWidth} (a multiple of 64), --train-seq {o.TrainSeq} (at least 2), --train-batch {o.TrainBatch} (at least 1).");
        if (o.Out is not null)
        {
            if (File.Exists(o.Out)) throw new ArgumentException($"--out {o.Out} is a file; it must be a folder (created if missing).");
            try
            {
                Directory.CreateDirectory(o.Out); // now, not after a run of many minutes
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
            {
                throw new ArgumentException($"--out {o.Out}: cannot create the folder ({e.Message}).");
            }
        }
        if (o.OverheadN < 4)
            throw new ArgumentException($"--overhead-n {o.OverheadN}: the larger pool needs at least 4 candidates.");
        if (o.NoScoring && !o.TrainStep && !o.Overhead && !o.Padding && !o.Memory)
            throw new ArgumentException("--no-scoring leaves nothing to run without --train-step, --overhead, --padding or --memory.");
        return o;
    }
}

/// <summary>One benchmark setting: wire the bi-level problem, time every scoring method, print the table.</summary>
internal static class Bench
{
    public static ScoringEntry RunSetting(string name, string setting, ICausalLM model, Gpt2LM baseModel, (string Name, InfluenceScorer Scorer)[] methods,
        BenchOptions o, Device device, double forwardFlops, List<double> allCeilings)
    {
        // TokenBatch's constructor and Select leave a few index temporaries to the enclosing scope (about 25 per setting
        // here); this scope collects them, so that the leak check at the end sees only what the setting really kept.
        using var settingScope = NewDisposeScope();
        long trainable = model.TrainableParameters.Sum(p => p.numel());
        long all = baseModel.parameters().Sum(p => p.numel());
        Console.WriteLine();
        Console.WriteLine($"== {name}: {trainable:N0} trainable of {all:N0} parameters ==");

        using var reference = new ParameterSnapshotReference(model);
        var (chosen, rejected) = BenchData.PreferencePairs(o, device);
        using var preferences = PreferenceBatch.WithReference(chosen, rejected, reference);
        using var pool = new ForgetBatch(BenchData.Negatives(o, device));
        var objective = new DpoObjective(preferences);
        var inner = new InnerObjective(new GradAscent());
        using var weights = full(o.N, 1.0 / o.N, dtype: model.DType, device: device);
        var problem = new BilevelProblem(model.TrainableParameters,
            () => inner.Value(model, pool, weights),
            () => objective.Objective(model),
            idx => { using var batch = pool.Select(idx); return inner.PerExampleLosses(model, batch); },
            o.N)
        {
            // As UnlearningProblem.AtWeights sets them: lengths for the scorer's length buckets, and the forward-only scope
            // (a LoRA model's adapters merged once per finite-difference pass).
            ExampleLengths = pool.Tokens.SpanLengths,
            ForwardOnly = () => ForwardOnlyPasses.Enter(model),
        };

        var estimator = new IdentityEstimator();
        estimator.Estimate(problem).Dispose(); // warm-up
        var estimateTimes = new List<double>();
        InfluenceDirection? direction = null;
        for (int r = 0; r < o.Reps; r++)
        {
            direction?.Dispose();
            var sw = Stopwatch.StartNew();
            direction = estimator.Estimate(problem);
            estimateTimes.Add(sw.Elapsed.TotalSeconds);
        }
        using var v = direction!;
        Console.WriteLine($"v = grad J (IdentityEstimator): {Median(estimateTimes) * 1e3:F0} ms for {o.Pairs} pairs, ||v|| = {v.Diagnostics["direction_norm"]:G3}");

        // The scoring methods, then the passes they are built from (every pass over all N in chunks, through the same
        // PerExampleLosses closure), so that each method's time can be read as a sum of passes.
        var cases = methods.Select(m => (m.Name, Run: (Func<double[]?>)(() => Score(m.Scorer, problem, v))))
            .Concat(new (string Name, Func<double[]?> Run)[]
            {
                ("forward, batch 1", () => Passes(problem, model, o.N, 1, backward: false)),
                ("forward, batch 32", () => Passes(problem, model, o.N, 32, backward: false)),
                ("  explicit attention", () => Explicit(baseModel, () => Passes(problem, model, o.N, 32, backward: false))),
                ("  unsorted, two-branch", () => Explicit(baseModel, () => Passes(problem, model, o.N, 32, backward: false, sorted: false, scope: false))),
                ("fwd+bwd, batch 1", () => Passes(problem, model, o.N, 1, backward: true)),
                ("fwd+bwd, batch 32", () => Passes(problem, model, o.N, 32, backward: true)),
            }).ToArray();
        foreach (var c in cases) c.Run(); // warm-up
        var times = cases.Select(_ => new List<double>()).ToArray();
        var scores = new double[methods.Length][];
        var ceilings = new List<double>();
        for (int r = 0; r < o.Reps; r++)
        {
            for (int m = 0; m < cases.Length; m++)
            {
                var sw = Stopwatch.StartNew();
                var result = cases[m].Run();
                times[m].Add(sw.Elapsed.TotalSeconds);
                if (result is not null) scores[m] = result;
            }
            ceilings.Add(Machine.MatmulGflops(device, repetitions: 5));
        }

        allCeilings.AddRange(ceilings);
        double ceiling = Median(ceilings);
        double loopTime = Median(times[0]);
        double loopScale = scores[0].Max(Math.Abs);
        Console.WriteLine($"{"method",-22} {"median s",9} {"best s",7} {"ex/s",8} {"speed-up",9} {"cost",6} {"rel.diff",9} {"Spearman",9}   rounds (s)");
        for (int m = 0; m < cases.Length; m++)
        {
            if (m == methods.Length) Console.WriteLine("passes over all N, for reading the costs above:");
            double t = Median(times[m]);
            double cost = t / o.N * ceiling * 1e9 / forwardFlops;
            string accuracy = m < methods.Length
                ? $"{scores[m].Zip(scores[0], (a, b) => Math.Abs(a - b)).Max() / loopScale,9:0.0e+00} {SeedStatistics.Spearman(scores[m], scores[0]),9:F4}"
                : $"{"",9} {"",9}";
            Console.WriteLine($"{cases[m].Name,-22} {t,9:F3} {times[m].Min(),7:F3} {o.N / t,8:F1} {loopTime / t,8:F2}x {cost,6:F1} {accuracy}   " +
                string.Join(" ", times[m].Select(x => x.ToString("F3"))));
        }
        Console.WriteLine($"matmul ceiling after each round: {string.Join(", ", ceilings.Select(c => c.ToString("F0")))} GFLOP/s; cost uses their median, {ceiling:F0} (a drop means another job took the cores)");
        Console.WriteLine($"scores (loop): min {scores[0].Min():G3}, max {scores[0].Max():G3}, mean |s| {scores[0].Average(Math.Abs):G3}");

        // For summary.json: the loop, the exact path at chunk 32 and finite differences at chunk 32 (found by name, so a
        // reordered method list cannot swap them silently). fd_ceiling_share: the model FLOPs of the two forwards per
        // example over the finite-difference time, divided by the median per-round ceiling.
        int exact = Array.FindIndex(methods, m => m.Name == "exact, chunk 32");
        int fd = Array.FindIndex(methods, m => m.Name == "finite diff, chunk 32");
        if (exact < 0 || fd < 0) throw new InvalidOperationException("the method list lost 'exact, chunk 32' or 'finite diff, chunk 32'.");
        double exactTime = Median(times[exact]), fdTime = Median(times[fd]);
        return new ScoringEntry(o.N, setting, loopTime, exactTime, fdTime, loopTime / exactTime, loopTime / fdTime,
            SeedStatistics.Spearman(scores[exact], scores[0]), SeedStatistics.Spearman(scores[fd], scores[0]),
            2.0 * o.N * forwardFlops / fdTime / (ceiling * 1e9));
    }

    /// <summary>Per-example losses of all N in chunks: forwards only (no graph), or each chunk's forward and the backward of its
    /// sum. Chunks are cut from the candidates sorted by length, longest first, as the scorer cuts them (unless
    /// <paramref name="sorted"/> is false); forward-only passes run in the problem's forward-only scope, as finite
    /// differences do (unless <paramref name="scope"/> is false: then plain no_grad, the LoRA adapters as two branches).</summary>
    private static double[]? Passes(BilevelProblem problem, ICausalLM model, int n, int chunk, bool backward, bool sorted = true, bool scope = true)
    {
        var parameters = model.TrainableParameters.Cast<Tensor>().ToArray();
        var order = Enumerable.Range(0, n).Select(i => (long)i).ToArray();
        if (sorted && problem.ExampleLengths is { } lengths) order = order.OrderByDescending(i => lengths[(int)i]).ToArray();
        using var forwardOnly = backward ? null : scope ? problem.ForwardOnly?.Invoke() : no_grad();
        for (int start = 0; start < n; start += chunk)
        {
            using var disposeScope = NewDisposeScope();
            var idx = order.Skip(start).Take(chunk).ToArray();
            if (backward)
                autograd.grad(new[] { problem.PerExampleLosses(idx).sum() }, parameters, allow_unused: true);
            else
                using (no_grad()) problem.PerExampleLosses(idx).sum().item<float>();
        }
        return null;
    }

    /// <summary>Runs <paramref name="run"/> with the explicit attention kernel on every pass (the old forward-only path).</summary>
    private static double[]? Explicit(Gpt2LM model, Func<double[]?> run)
    {
        model.AttentionKernel = AttentionKernel.Explicit;
        try { return run(); }
        finally { model.AttentionKernel = AttentionKernel.Auto; }
    }

    private static double[] Score(InfluenceScorer scorer, BilevelProblem problem, InfluenceDirection v)
    {
        using var scope = NewDisposeScope();
        return scorer.Score(problem, v);
    }

    /// <summary>The median (mean of the middle two for an even count).</summary>
    public static double Median(IEnumerable<double> xs)
    {
        var s = xs.OrderBy(x => x).ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}

/// <summary>Random token data with a fixed seed: the same sequences in every setting.</summary>
internal static class BenchData
{
    public static readonly (int Min, int Max) PromptLength = (12, 20), ResponseLength = (12, 20);
    public static double MeanLength => (PromptLength.Min + PromptLength.Max + ResponseLength.Min + ResponseLength.Max) / 2.0;
    public static double MeanResponseLength => (ResponseLength.Min + ResponseLength.Max) / 2.0;

    public static TokenBatch Negatives(BenchOptions o, Device device)
    {
        var rng = new Random(o.Seed * 7919 + 1);
        return Build(Enumerable.Range(0, o.N).Select(_ => (Tokens(rng, PromptLength, o.Vocab), Tokens(rng, ResponseLength, o.Vocab))).ToList(), device);
    }

    public static (TokenBatch Chosen, TokenBatch Rejected) PreferencePairs(BenchOptions o, Device device)
    {
        var rng = new Random(o.Seed * 7919 + 2);
        var prompts = Enumerable.Range(0, o.Pairs).Select(_ => Tokens(rng, PromptLength, o.Vocab)).ToList();
        var chosen = prompts.Select(p => (p, Tokens(rng, ResponseLength, o.Vocab))).ToList();
        var rejected = prompts.Select(p => (p, Tokens(rng, ResponseLength, o.Vocab))).ToList();
        return (Build(chosen, device), Build(rejected, device));
    }

    /// <summary>FLOPs of one forward pass of a sequence of the mean length: weight matmuls (4 d^2 attention + 8 d^2 MLP per
    /// layer and token; the tied output head V d per position that predicts a response token, which is where the library
    /// runs it, or per token with <paramref name="headEverywhere"/>) at 2 FLOPs per multiply-add, plus the T x T attention products.</summary>
    public static double ForwardFlops(Gpt2Config c, BenchOptions o, bool headEverywhere = false)
    {
        double t = MeanLength, d = c.NEmbd, head = headEverywhere ? MeanLength : MeanResponseLength;
        return 2 * t * c.NLayer * 12 * d * d + 2 * head * (double)o.Vocab * d + c.NLayer * 4 * t * t * d;
    }

    private static long[] Tokens(Random rng, (int Min, int Max) length, int vocab) =>
        Enumerable.Range(0, rng.Next(length.Min, length.Max + 1)).Select(_ => (long)rng.Next(1, vocab)).ToArray();

    private static TokenBatch Build(IReadOnlyList<(long[] Prompt, long[] Response)> rows, Device device)
    {
        int b = rows.Count, t = rows.Max(r => r.Prompt.Length + r.Response.Length);
        var ids = new long[b * t];
        var attention = new long[b * t];
        var response = new long[b * t];
        for (int i = 0; i < b; i++)
        {
            var (p, r) = rows[i];
            for (int j = 0; j < p.Length + r.Length; j++)
            {
                ids[i * t + j] = j < p.Length ? p[j] : r[j - p.Length];
                attention[i * t + j] = 1;
                response[i * t + j] = j < p.Length ? 0 : 1;
            }
        }
        return new TokenBatch(tensor(ids, new long[] { b, t }, device: device), tensor(attention, new long[] { b, t }, device: device),
            tensor(response, new long[] { b, t }, device: device));
    }
}

/// <summary>The machine: CPU model and the matmul compute ceiling.</summary>
internal static class Machine
{
    public static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line is null ? "unknown CPU" : line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { return "unknown CPU"; }
        catch (UnauthorizedAccessException) { return "unknown CPU"; }
    }

    /// <summary>GFLOP/s of a 1024^3 float32 matmul, median of <paramref name="repetitions"/> after 5 warm-ups.</summary>
    public static double MatmulGflops(Device device, int n = 1024, int repetitions = 10)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var a = randn(n, n, device: device);
        var b = randn(n, n, device: device);
        for (int i = 0; i < 5; i++) a.matmul(b).Dispose();
        var times = new List<double>();
        for (int i = 0; i < repetitions; i++)
        {
            var sw = Stopwatch.StartNew();
            a.matmul(b).Dispose();
            times.Add(sw.Elapsed.TotalSeconds);
        }
        times.Sort();
        double median = times.Count % 2 == 1 ? times[times.Count / 2] : (times[times.Count / 2 - 1] + times[times.Count / 2]) / 2;
        return 2.0 * n * n * n / median / 1e9;
    }
}

/// <summary>One scoring entry of summary.json (seconds are medians of the rounds; speed-ups are over the loop).</summary>
internal sealed record ScoringEntry(int N, string Setting, double LoopSeconds, double BatchedExactSeconds, double BatchedFdSeconds,
    double SpeedupExact, double SpeedupFd, double SpearmanExact, double SpearmanFd, double FdCeilingShare);

/// <summary>Writes summary.json with the schema of issue 12; what this run did not measure is written as null.</summary>
internal static class Summary
{
    public static string Write(string folder, IReadOnlyList<ScoringEntry> scoring, TrainStepResult? trainStep, OverheadResult? overhead,
        IReadOnlyList<double> ceilings, double? paddingWaste, MemoryResult? memory)
    {
        if (File.Exists(folder)) throw new ArgumentException($"--out {folder} is a file; it must be a folder (created if missing).");
        Directory.CreateDirectory(folder);
        var root = new JsonObject
        {
            ["machine"] = $"{Machine.CpuModel()}, {Environment.ProcessorCount} logical cores",
            ["threads"] = get_num_threads(),
            // The median of the per-round ceilings of this run (the start and end ceilings only if no part ran rounds).
            ["matmul_gflops"] = Number(Bench.Median(ceilings)),
            ["scoring"] = new JsonArray(scoring.Select(e => (JsonNode)new JsonObject
            {
                ["n"] = e.N,
                ["setting"] = e.Setting,
                ["loop_seconds"] = Number(e.LoopSeconds),
                ["batched_exact_seconds"] = Number(e.BatchedExactSeconds),
                ["batched_fd_seconds"] = Number(e.BatchedFdSeconds),
                ["speedup_exact"] = Number(e.SpeedupExact),
                ["speedup_fd"] = Number(e.SpeedupFd),
                ["spearman_exact"] = Number(e.SpearmanExact),
                ["spearman_fd"] = Number(e.SpearmanFd),
                ["fd_ceiling_share"] = Number(e.FdCeilingShare),
            }).ToArray()),
            // A fraction (0.05 = 5%), of the finite-difference scorer's forwards on the HH-RLHF sample (PaddingBench).
            ["padding_waste_hh_rlhf"] = paddingWaste is { } waste ? Number(waste) : null,
            ["train_step"] = trainStep is null ? null : new JsonObject
            {
                ["params"] = trainStep.Parameters,
                ["tokens_per_second"] = Number(trainStep.TokensPerSecond),
                ["mfu"] = Number(trainStep.Mfu),
            },
            ["unlearn_step_ratio"] = trainStep is null ? null : new JsonObject
            {
                ["ga"] = Number(trainStep.GaRatio),
                ["npo"] = Number(trainStep.NpoRatio),
            },
            // (Score + Select) / wall time of BilevelOptimizer.Run, one U2A+GA run of the evidence benchmark (default pool);
            // u2a_overhead_share_n1024 (not in the issue's schema) is the same for the larger pool, named by its size so that a
            // run with another --overhead-n cannot pass for N = 1024.
            ["u2a_overhead_share"] = overhead is null ? null : Number(overhead.DefaultShare),
            [$"u2a_overhead_share_n{overhead?.LargePool ?? 1024}"] = overhead is null ? null : Number(overhead.LargeShare),
            ["memory"] = new JsonObject
            {
                ["live_tensor_growth"] = memory?.LiveTensorGrowth,
                ["rss_growth_ratio"] = memory is null ? null : Number(memory.RssGrowthRatio),
                ["scoring_rss_ratio_1024_vs_64"] = memory is null ? null : Number(memory.ScoringRssRatio1024Vs64),
                ["exact_vs_loop_peak_ratio"] = memory is null ? null : Number(memory.ExactVsLoopPeakRatio),
            },
        };
        string path = Path.Combine(folder, "summary.json");
        File.WriteAllText(path, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        return path;
    }

    // JSON has no NaN or infinity: a non-finite figure is written as null rather than invented.
    private static JsonNode? Number(double x) => double.IsFinite(x) ? JsonValue.Create(x) : null;
}
