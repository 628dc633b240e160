using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using U2A.Core.Tokenization;

/// <summary>
/// Tokenizer throughput (<c>--tokenizer-only</c>): MB/s of HH-RLHF text (the 2000 chosen and rejected texts of the committed
/// sample, UTF-8 bytes) encoded on one thread, for the real Qwen3 tokenizer.json (committed) and Llama 3.1's (from
/// shared/ beside the repository, when present). First pass: a first instance's first pass (for the first tokenizer, the
/// JIT's compiling and tiering included); cold: a second, fresh instance's first pass (its word cache empty); warm: the
/// median of its next passes. Prints figures; asserts nothing.
/// Usage: dotnet run --project samples/U2A.Benchmarks -c Release -- --tokenizer-only [--reps R] [--tokenizer DIR]...
/// </summary>
internal static class TokenizerBench
{
    public static int Run(string[] args)
    {
        int reps = 5;
        var dirs = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--tokenizer-only": break;
                case "--reps": reps = int.Parse(Next()); break;
                case "--tokenizer": dirs.Add(Next()); break;
                default: throw new ArgumentException($"unknown argument '{args[i]}' with --tokenizer-only; known: --reps R, --tokenizer DIR (repeatable)");
            }
        }
        if (reps < 1) throw new ArgumentException("--reps must be at least 1.");
        string root = RepoRoot();
        if (dirs.Count == 0)
        {
            dirs.Add(Path.Combine(root, "tests", "data", "tokenizers", "qwen3"));
            string llama = Path.GetFullPath(Path.Combine(root, "..", "shared", "data", "tokenizers", "llama3_1"));
            if (Directory.Exists(llama)) dirs.Add(llama);
            else Console.WriteLine($"(Llama 3.1 left out: {llama} is absent)");
        }

        var texts = new List<string>();
        foreach (var line in File.ReadLines(Path.Combine(root, "tests", "data", "real", "hh_rlhf_harmless_base_test.first1000.jsonl")))
        {
            if (line.Length == 0) continue;
            using var doc = JsonDocument.Parse(line);
            texts.Add(doc.RootElement.GetProperty("chosen").GetString()!);
            texts.Add(doc.RootElement.GetProperty("rejected").GetString()!);
        }
        double mb = texts.Sum(t => Encoding.UTF8.GetByteCount(t)) / 1e6;
        Console.WriteLine($"{RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}, {Environment.ProcessorCount} logical cores; one thread");
        Console.WriteLine($"Text: {texts.Count} HH-RLHF texts, {mb:F3} MB UTF-8; warm = median of {reps} passes after the cold one");
        foreach (var dir in dirs)
        {
            // A first instance's first pass (for the first tokenizer this includes the JIT compiling and tiering the code),
            // then a fresh instance: its first pass is the cold-cache figure, its later passes the warm one.
            var first = TokenizerLoader.FromFolder(dir);
            var sw = Stopwatch.StartNew();
            foreach (var t in texts) first.Encode(t);
            double firstPass = sw.Elapsed.TotalSeconds;
            var load = Stopwatch.StartNew();
            var tok = TokenizerLoader.FromFolder(dir);
            load.Stop();
            long tokens = 0;
            sw.Restart();
            foreach (var t in texts) tokens += tok.Encode(t).Count;
            double cold = sw.Elapsed.TotalSeconds;
            var warm = new List<double>();
            for (int r = 0; r < reps; r++)
            {
                sw.Restart();
                foreach (var t in texts) tok.Encode(t);
                warm.Add(sw.Elapsed.TotalSeconds);
            }
            warm.Sort();
            double median = warm[warm.Count / 2];
            sw.Restart();
            foreach (var t in texts) tok.Decode(tok.Encode(t));
            double roundTrip = sw.Elapsed.TotalSeconds;
            Console.WriteLine($"{Path.GetFileName(dir.TrimEnd('/')),-10} load {load.Elapsed.TotalSeconds:F2} s; {tokens:N0} tokens; encode: first pass {mb / firstPass:F2} MB/s, cold {mb / cold:F2} MB/s, warm {mb / median:F2} MB/s " +
                $"({tokens / median / 1e6:F2} M tokens/s); encode+decode warm {mb / roundTrip:F2} MB/s");
        }
        return 0;
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "U2A.Core.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("the repository root (U2A.Core.sln) was not found above " + AppContext.BaseDirectory);
    }
}
