using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TorchSharp;
using U2A.Core.Models.Checkpoints;
using U2A.Core.Models.Lora;
using U2A.Core.Tests.Models;
using U2A.Testing;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Reliability.Files;

/// <summary>A real file written by the library (checkpoint weights or a LoRA adapter) and the model loader that reads it.</summary>
internal sealed class FuzzSource
{
    public required string Name { get; init; }
    /// <summary>The checkpoint directory (for an adapter: the folder holding it).</summary>
    public required string Directory { get; init; }
    public required string FilePath { get; init; }
    public required SafetensorsMutator Mutator { get; init; }
    /// <summary>Loads the file the way an application does: <see cref="CausalLMLoader.FromPretrained"/> or <see cref="LoraModel.FromAdapterFile"/>.</summary>
    public required Action LoadModel { get; init; }

    /// <summary>Writes the sources under <paramref name="root"/>: a GPT-2 checkpoint (F32), a Llama checkpoint saved as BF16, a
    /// sharded Qwen2 checkpoint (one shard fuzzed, loaded through the index) and a LoRA adapter of a TinyTransformerLM.</summary>
    public static List<FuzzSource> CreateAll(string root)
    {
        using var scope = NewDisposeScope();
        var sources = new List<FuzzSource>();
        FuzzSource Checkpoint(string name, IHfModelConfig config, ScalarType? dtype, long shardBytes, string file)
        {
            string dir = Path.Combine(root, name);
            using (var model = CausalLMLoader.Create(config, seed: 1)) CausalLMLoader.SavePretrained(model, dir, dtype, shardBytes);
            string path = file == "shard 2" ? System.IO.Directory.GetFiles(dir, "model-00002-of-*.safetensors").Single() : Path.Combine(dir, file);
            return new FuzzSource
            {
                Name = name, Directory = dir, FilePath = path, Mutator = new SafetensorsMutator(File.ReadAllBytes(path)),
                LoadModel = () => { using var m = CausalLMLoader.FromPretrained(dir); },
            };
        }
        sources.Add(Checkpoint("gpt2", ModelTestKit.TinyGpt2, null, 0, HfCheckpoint.SingleFileName));
        sources.Add(Checkpoint("llama-bf16", ModelTestKit.TinyLlama, ScalarType.BFloat16, 0, HfCheckpoint.SingleFileName));
        sources.Add(Checkpoint("qwen2-sharded", ModelTestKit.TinyQwen2, null, 4_000, "shard 2"));

        string loraDir = Path.Combine(root, "lora");
        System.IO.Directory.CreateDirectory(loraDir);
        string loraPath = Path.Combine(loraDir, "adapter.safetensors");
        var options = new LoraOptions { TargetModules = new[] { "c_attn", "c_out" }, Rank = 2, Alpha = 3, Seed = 9 };
        TinyTransformerLM Base() => new(30, width: 8, layers: 2, heads: 2, seed: 3);
        using (var baseModel = Base())
        using (var lora = new LoraModel(baseModel, options))
        {
            using (no_grad())
                foreach (var a in lora.Adapters) a.B.copy_(randn(a.B.shape, generator: new Generator(5)).mul_(0.1));
            lora.SaveAdapters(loraPath);
        }
        sources.Add(new FuzzSource
        {
            Name = "lora", Directory = loraDir, FilePath = loraPath, Mutator = new SafetensorsMutator(File.ReadAllBytes(loraPath)),
            LoadModel = () =>
            {
                using var baseModel = Base();
                using var lora = LoraModel.FromAdapterFile(baseModel, loraPath);
            },
        });
        return sources;
    }
}

/// <summary>Counts of one fuzz run, written by the child as one JSON line.</summary>
internal sealed record FuzzSummary(int Variants, int FileLoaded, int FileInvalid, int ModelLoaded, int ModelInvalid, int Failures,
    Dictionary<string, int[]> Families, double Seconds);

/// <summary>
/// The child side of the safetensors fuzz (see <see cref="StartupHook"/>): writes the sources, then for each variant
/// writes the mutated file over the source file and reads it with <see cref="SafetensorsFile.ReadHeader"/>,
/// <see cref="SafetensorsFile.Load"/> and the model loader. Protocol on standard output: <c>V i ...</c> before variant i,
/// <c>F i ...</c> for each broken expectation, <c>H i</c> when variant i outlives its time limit (then exit 3), and one
/// <c>S {json}</c> summary at the end. Settings come from <c>U2A_FUZZ_*</c> environment variables: SEED, COUNT, FIRST (the
/// first variant index, to rerun one), DIR (work folder), VARIANT_TIMEOUT_MS, and INJECT (crash:i or hang:i, self-tests).
/// </summary>
internal static class FuzzWorker
{
    public const string Mode = "safetensors-fuzz";

    public static int Run()
    {
        int seed = int.Parse(Environment.GetEnvironmentVariable("U2A_FUZZ_SEED")!, CultureInfo.InvariantCulture);
        int count = int.Parse(Environment.GetEnvironmentVariable("U2A_FUZZ_COUNT")!, CultureInfo.InvariantCulture);
        int first = int.Parse(Environment.GetEnvironmentVariable("U2A_FUZZ_FIRST") ?? "0", CultureInfo.InvariantCulture); // to rerun one variant
        string root = Environment.GetEnvironmentVariable("U2A_FUZZ_DIR")!;
        int timeoutMs = int.Parse(Environment.GetEnvironmentVariable("U2A_FUZZ_VARIANT_TIMEOUT_MS") ?? "60000", CultureInfo.InvariantCulture);
        string? inject = Environment.GetEnvironmentVariable("U2A_FUZZ_INJECT"); // "crash:<i>" or "hang:<i>", for the harness's own tests

        var clock = Stopwatch.StartNew();
        var sources = FuzzSource.CreateAll(root);
        int fileLoaded = 0, fileInvalid = 0, modelLoaded = 0, modelInvalid = 0, failures = 0;
        var families = new SortedDictionary<string, int[]>(StringComparer.Ordinal);
        for (int i = first; i < first + count; i++)
        {
            var source = sources[i % sources.Count];
            var variant = source.Mutator.Next(new Random(unchecked(seed * 1_000_003 + i)));
            Console.Out.WriteLine($"V {i} {source.Name} {variant.Family}: {variant.Description}");
            int index = i;
            var task = Task.Run(() => Check(source, variant, inject == $"crash:{index}", inject == $"hang:{index}"));
            if (!task.Wait(timeoutMs))
            {
                Console.Out.WriteLine($"H {i}");
                return 3;
            }
            var (file, model, problems) = task.Result;
            foreach (var p in problems) Console.Out.WriteLine($"F {i} {source.Name} {variant.Family}: {variant.Description} => {p.ReplaceLineEndings(" | ")}");
            failures += problems.Count;
            if (file == Expect.Loaded) fileLoaded++; else if (file == Expect.Invalid) fileInvalid++;
            if (model == Expect.Loaded) modelLoaded++; else if (model == Expect.Invalid) modelInvalid++;
            if (!families.TryGetValue(variant.Family, out var counts)) families[variant.Family] = counts = new int[3];
            counts[0]++;
            if (file == Expect.Loaded) counts[1]++;
            if (model == Expect.Loaded) counts[2]++;
        }
        var summary = new FuzzSummary(count, fileLoaded, fileInvalid, modelLoaded, modelInvalid, failures, new(families), clock.Elapsed.TotalSeconds);
        Console.Out.WriteLine("S " + JsonSerializer.Serialize(summary));
        return 0;
    }

    /// <summary>Reads the variant every way; returns the outcomes and every broken expectation.</summary>
    private static (Expect? File, Expect? Model, List<string> Problems) Check(FuzzSource source, Variant variant, bool crash, bool hang)
    {
        using var scope = NewDisposeScope();
        var problems = new List<string>();
        File.WriteAllBytes(source.FilePath, variant.Bytes);
        if (crash) CrashNatively();
        if (hang) Thread.Sleep(Timeout.Infinite);

        var header = Attempt("ReadHeader", () => SafetensorsFile.ReadHeader(source.FilePath), source.FilePath, problems, fileLevel: true);
        var load = Attempt("Load", () =>
        {
            foreach (var t in SafetensorsFile.Load(source.FilePath).Values) t.Dispose();
        }, source.FilePath, problems, fileLevel: true);
        var model = Attempt("model loader", source.LoadModel, source.Directory, problems, fileLevel: false);

        if (header is not null && load is not null && header != load) problems.Add($"ReadHeader gave {header} but Load gave {load}");
        if (variant.File is { } f && load is not null && load != f) problems.Add($"SafetensorsFile: expected {f}, got {load}");
        if (variant.Model is { } m && model is not null && model != m) problems.Add($"model loader: expected {m}, got {model}");
        if (load == Expect.Invalid && model == Expect.Loaded) problems.Add("the model loader accepted a file SafetensorsFile rejects");
        return (load, model, problems);
    }

    /// <summary>Loaded, Invalid (an InvalidDataException that names <paramref name="mustName"/>), or null with a problem recorded.</summary>
    private static Expect? Attempt(string what, Action action, string mustName, List<string> problems, bool fileLevel)
    {
        try
        {
            action();
            return Expect.Loaded;
        }
        catch (InvalidDataException e)
        {
            if (!e.Message.Contains(mustName, StringComparison.Ordinal))
                problems.Add($"{what}: InvalidDataException does not name {mustName}: {e.Message}");
            // A file-level message names the tensor or field ('...'), or is about the header or the file as a whole.
            string rest = e.Message.Replace(mustName, "", StringComparison.Ordinal);
            if (fileLevel && !(rest.Contains('\'') || rest.Contains("header", StringComparison.Ordinal) || rest.Contains("too short", StringComparison.Ordinal)
                    || rest.Contains("no tensors", StringComparison.Ordinal)))
                problems.Add($"{what}: InvalidDataException names no tensor or field: {e.Message}");
            return Expect.Invalid;
        }
        catch (Exception e)
        {
            problems.Add($"{what}: {e.GetType().FullName} instead of InvalidDataException: {e.Message}");
            return null;
        }
    }

    /// <summary>The documented way TorchSharp kills a process: an error inside autograd.grad is a native abort.</summary>
    private static void CrashNatively()
    {
        var used = ones(2, requires_grad: true);
        var unused = ones(2, requires_grad: true);
        var y = (used * 2).sum();
        torch.autograd.grad(new[] { y }, new[] { unused }); // unused input, allow_unused false: abort (exit 134)
        Environment.FailFast("autograd.grad did not abort; failing fast instead");
    }
}

/// <summary>The parent side: runs <see cref="FuzzWorker"/> in a child process and turns its output into a verdict.</summary>
internal sealed class FuzzReport
{
    public required int? ExitCode { get; init; }
    public required IReadOnlyList<string> Lines { get; init; }
    public required string Stderr { get; init; }
    public FuzzSummary? Summary { get; private init; }

    public static FuzzReport Run(int seed, int count, string workDirectory, TimeSpan overall, int variantTimeoutMs = 60_000, string? inject = null)
    {
        var env = new Dictionary<string, string>
        {
            ["U2A_FUZZ_SEED"] = seed.ToString(CultureInfo.InvariantCulture),
            ["U2A_FUZZ_COUNT"] = count.ToString(CultureInfo.InvariantCulture),
            ["U2A_FUZZ_DIR"] = workDirectory,
            ["U2A_FUZZ_VARIANT_TIMEOUT_MS"] = variantTimeoutMs.ToString(CultureInfo.InvariantCulture),
        };
        if (inject is not null) env["U2A_FUZZ_INJECT"] = inject;
        using var child = ChildProcess.Start(FuzzWorker.Mode, env);
        int? code = child.WaitForExit(overall);
        var lines = child.Lines;
        string? s = lines.LastOrDefault(l => l.StartsWith("S ", StringComparison.Ordinal));
        return new FuzzReport
        {
            ExitCode = code, Lines = lines, Stderr = child.Stderr,
            Summary = s is null ? null : JsonSerializer.Deserialize<FuzzSummary>(s[2..]),
        };
    }

    /// <summary>The variant running when the child stopped (its <c>V</c> line), if any.</summary>
    public string? LastVariant => Lines.LastOrDefault(l => l.StartsWith("V ", StringComparison.Ordinal));

    /// <summary>Everything wrong with the run: broken expectations, a crash, a hang, a missing summary. Empty when all is well.</summary>
    public List<string> Problems()
    {
        var broken = Lines.Where(l => l.StartsWith("F ", StringComparison.Ordinal) || l.StartsWith("X ", StringComparison.Ordinal)).ToList();
        var problems = broken.Take(30).ToList();
        if (broken.Count > 30) problems.Add($"... {broken.Count} broken expectations in all");
        var hang = Lines.FirstOrDefault(l => l.StartsWith("H ", StringComparison.Ordinal));
        if (hang is not null) problems.Add($"hang: variant {hang[2..]} did not finish in its time limit ({LastVariant})");
        else if (ExitCode is null) problems.Add($"hang: the child was killed after the overall time limit, during {LastVariant}");
        else if (ExitCode != 0) problems.Add($"crash: the child died with exit code {ExitCode} during {LastVariant}; stderr: {Stderr[..Math.Min(2_000, Stderr.Length)]}");
        if (Summary is null && ExitCode == 0) problems.Add("the child wrote no summary");
        return problems;
    }
}
