using System.Reflection;
using System.Text;
using System.Text.Json;
using U2A.Core.Models.Checkpoints;
using U2A.Core.Models.Gpt2;

namespace U2A.Cli.Tests.Shared;

/// <summary>
/// A tiny random GPT-2 model folder written by the test: config.json + model.safetensors (the library's checkpoint save) and a
/// byte-level BPE tokenizer (vocab.json with GPT-2's 256 byte symbols plus &lt;|endoftext|&gt;, no merges), so every text
/// encodes one token per UTF-8 byte; with the committed HH-RLHF sample as pool (first 20 pairs' rejected responses) and
/// preference file (the next 8 pairs).
/// </summary>
public sealed class TinyModelFolder : IDisposable
{
    public TinyModelFolder()
    {
        Root = Path.Combine(Path.GetTempPath(), "u2a-cli-tests-" + Guid.NewGuid().ToString("N")[..10]);
        ModelDir = Path.Combine(Root, "model");
        Directory.CreateDirectory(ModelDir);
        using (var model = new Gpt2LM(new Gpt2Config(VocabSize: 257, NEmbd: 16, NLayer: 1, NHead: 2, NPositions: 64), seed: 0))
            CausalLMLoader.SavePretrained(model, ModelDir);
        var vocab = ByteSymbols().Select((c, i) => (c, i)).ToDictionary(x => x.c.ToString(), x => x.i);
        vocab["<|endoftext|>"] = 256;
        File.WriteAllText(Path.Combine(ModelDir, "vocab.json"), JsonSerializer.Serialize(vocab));
        File.WriteAllText(Path.Combine(ModelDir, "merges.txt"), "#version: 0.2\n");
        var lines = File.ReadLines(HhRlhf).Take(28).ToArray();
        Pool = Path.Combine(Root, "pool.jsonl");
        Prefs = Path.Combine(Root, "prefs.jsonl");
        File.WriteAllLines(Pool, lines[..20]);
        File.WriteAllLines(Prefs, lines[20..]);
    }

    public string Root { get; }
    public string ModelDir { get; }
    public string Pool { get; }
    public string Prefs { get; }
    public const int PoolCount = 20;

    /// <summary>The options every test passes: the folder, the data, short sequences, LoRA rank 2 and chunks of 6 (20 = 6+6+6+2).</summary>
    public string[] Common(params string[] more) =>
        ["--model", ModelDir, "--pool", Pool, "--prefs", Prefs, "--max-length", "48", "--truncation", "response", "--lora-rank", "2", "--chunk-size", "6", "--quiet", .. more];

    public string Out(string name) => Path.Combine(Root, name);

    public static string RepoRoot => typeof(TinyModelFolder).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "RepoRoot").Value!;
    public static string HhRlhf => Path.Combine(RepoRoot, "tests", "data", "real", "hh_rlhf_harmless_base_test.first1000.jsonl");
    public static string CliPath => typeof(TinyModelFolder).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "CliPath").Value!;

    /// <summary>GPT-2's bytes_to_unicode: the printable symbol of each byte 0..255.</summary>
    public static char[] ByteSymbols()
    {
        var printable = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range(0xA1, 0xAC - 0xA1 + 1)).Concat(Enumerable.Range(0xAE, 0xFF - 0xAE + 1)).ToHashSet();
        var map = new char[256];
        int extra = 0;
        for (int b = 0; b < 256; b++) map[b] = printable.Contains(b) ? (char)b : (char)(256 + extra++);
        return map;
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Runs the CLI in this process or as a child process.</summary>
public static class U2a
{
    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
    }

    public static Result InProcess(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(args, output, error);
        return new Result(code, output.ToString(), error.ToString());
    }

    /// <summary>Starts <c>dotnet u2a.dll args</c> (the built CLI) with its output collected.</summary>
    public static System.Diagnostics.Process Start(params string[] args)
    {
        Assert.True(File.Exists(TinyModelFolder.CliPath), $"the CLI is not built at {TinyModelFolder.CliPath}");
        var info = new System.Diagnostics.ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8, StandardErrorEncoding = Encoding.UTF8,
        };
        info.ArgumentList.Add(TinyModelFolder.CliPath);
        foreach (var a in args) info.ArgumentList.Add(a);
        return System.Diagnostics.Process.Start(info)!;
    }

    public static Result Wait(System.Diagnostics.Process p, int timeoutSeconds = 60)
    {
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutSeconds * 1000)) { p.Kill(entireProcessTree: true); throw new TimeoutException($"the CLI did not finish in {timeoutSeconds} s"); }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}
