using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using U2A.Core.Data;
using U2A.Core.Tokenization;

namespace U2A.Core.Tests.Tokenization;

/// <summary>
/// Parity with Hugging Face's own implementation: the ids and decoded text that @huggingface/tokenizers gives (written
/// by tests/fixtures/tokenizers/make_fixtures.mjs) for 270 fixed texts and the 2000 texts of the HH-RLHF sample, on the
/// real Qwen3 (committed) and Llama 3.1 (shared/ only: Llama community licence) tokenizer files.
/// </summary>
public sealed class HfTokenizerParityTests
{
    internal static string Qwen3Dir => Path.Combine(HfTestPaths.Root, "tests", "data", "tokenizers", "qwen3");

    internal static string Llama31Dir => Path.GetFullPath(Path.Combine(HfTestPaths.Root, "..", "shared", "data", "tokenizers", "llama3_1"));

    private static readonly Lazy<HfTokenizer> Qwen3 = new(() => Load(Qwen3Dir));
    private static readonly Lazy<HfTokenizer> Llama31 = new(() => Load(Llama31Dir));

    internal static HfTokenizer Load(string dir) => HfTokenizer.FromFile(Path.Combine(dir, "tokenizer.json"), Path.Combine(dir, "tokenizer_config.json"));

    internal static HfTokenizer Qwen3Tokenizer => Qwen3.Value;

    internal static HfTokenizer Llama31Tokenizer
    {
        get
        {
            RequireLlama();
            return Llama31.Value;
        }
    }

    internal static void RequireLlama() =>
        Skip.IfNot(File.Exists(Path.Combine(Llama31Dir, "tokenizer.json")),
            $"needs the Llama 3.1 tokenizer in {Llama31Dir} (shared/ beside the repository); its licence does not allow committing it");

    private static JsonElement Fixture(string name)
    {
        var path = Path.Combine(HfTestPaths.Root, "tests", "fixtures", "tokenizers", name + ".json");
        return JsonDocument.Parse(File.ReadAllBytes(path)).RootElement;
    }

    private static string Sha16(string s) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(s)))[..16];

    private static string FileSha16(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)))[..16];

    private static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();

    private static string Show(IEnumerable<int> ids) => "[" + string.Join(",", ids) + "]";

    [Fact]
    public void Qwen3_fixed_texts_match_the_reference() => CheckCases("qwen3", Qwen3Dir, Qwen3Tokenizer);

    [SkippableFact]
    public void Llama31_fixed_texts_match_the_reference() => CheckCases("llama3_1", Llama31Dir, Llama31Tokenizer);

    [Fact]
    public void Qwen3_hh_rlhf_texts_match_the_reference() => CheckHh("qwen3", Qwen3Tokenizer);

    [SkippableFact]
    public void Llama31_hh_rlhf_texts_match_the_reference() => CheckHh("llama3_1", Llama31Tokenizer);

    private static void CheckCases(string name, string dir, HfTokenizer tok)
    {
        var fixture = Fixture(name);
        Assert.Equal(fixture.GetProperty("tokenizer_json_sha256").GetString(), FileSha16(Path.Combine(dir, "tokenizer.json")));
        Assert.Equal(fixture.GetProperty("tokenizer_config_sha256").GetString(), FileSha16(Path.Combine(dir, "tokenizer_config.json")));
        var failures = new List<string>();
        int n = 0;
        foreach (var c in fixture.GetProperty("cases").EnumerateArray())
        {
            n++;
            string text = c.GetProperty("text").GetString()!;
            var ids = Ints(c.GetProperty("ids"));
            var idsSpecial = Ints(c.GetProperty("ids_special"));
            var got = tok.Encode(text);
            var gotSpecial = tok.Encode(text, addSpecialTokens: true);
            if (!got.SequenceEqual(ids)) failures.Add($"ids of {JsonSerializer.Serialize(text)}: expected {Show(ids)}, got {Show(got)}");
            if (!gotSpecial.SequenceEqual(idsSpecial)) failures.Add($"ids with special tokens of {JsonSerializer.Serialize(text)}: expected {Show(idsSpecial)}, got {Show(gotSpecial)}");
            string decoded = tok.Decode(ids);
            if (decoded != c.GetProperty("decoded").GetString()) failures.Add($"decoded {JsonSerializer.Serialize(text)}: got {JsonSerializer.Serialize(decoded)}");
            string skip = tok.Decode(idsSpecial, skipSpecialTokens: true);
            if (skip != c.GetProperty("decoded_skip").GetString())
                failures.Add($"decoded (skip special) {JsonSerializer.Serialize(text)}: expected {JsonSerializer.Serialize(c.GetProperty("decoded_skip").GetString())}, got {JsonSerializer.Serialize(skip)}");
        }
        Assert.True(n >= 200, $"the fixture holds {n} texts");
        Assert.True(failures.Count == 0, $"{failures.Count} mismatches in {n} texts:\n" + string.Join("\n", failures.Take(15)));
    }

    internal static List<string> HhTexts()
    {
        var texts = new List<string>();
        foreach (var line in File.ReadLines(RealData.HhRlhf))
        {
            if (line.Length == 0) continue;
            using var doc = JsonDocument.Parse(line);
            texts.Add(doc.RootElement.GetProperty("chosen").GetString()!);
            texts.Add(doc.RootElement.GetProperty("rejected").GetString()!);
        }
        return texts;
    }

    private static void CheckHh(string name, HfTokenizer tok)
    {
        var fixture = Fixture(name);
        var texts = HhTexts();
        var entries = fixture.GetProperty("hh").EnumerateArray().ToList();
        Assert.Equal(2000, texts.Count);
        Assert.Equal(texts.Count, entries.Count);
        var failures = new List<string>();
        long tokens = 0;
        for (int i = 0; i < texts.Count; i++)
        {
            var e = entries[i];
            var ids = tok.Encode(texts[i]);
            var idsSpecial = tok.Encode(texts[i], addSpecialTokens: true);
            tokens += ids.Count;
            if (e.TryGetProperty("ids", out var full) && !ids.SequenceEqual(Ints(full)))
                failures.Add($"text {i}: ids differ: expected {Show(Ints(full))}, got {Show(ids)}");
            else if (ids.Count != e.GetProperty("count").GetInt32() || Sha16(string.Join(",", ids)) != e.GetProperty("ids_sha256").GetString())
                failures.Add($"text {i}: ids differ ({ids.Count} tokens, the reference has {e.GetProperty("count").GetInt32()})");
            if (Sha16(string.Join(",", idsSpecial)) != e.GetProperty("ids_special_sha256").GetString()) failures.Add($"text {i}: ids with special tokens differ");
            if (Sha16(tok.Decode(ids)) != e.GetProperty("decoded_sha256").GetString()) failures.Add($"text {i}: decoded text differs");
            if (Sha16(tok.Decode(idsSpecial, skipSpecialTokens: true)) != e.GetProperty("decoded_skip_sha256").GetString()) failures.Add($"text {i}: decoded text (skip special, clean-up) differs");
        }
        Assert.True(tokens > 250_000, $"only {tokens} tokens");
        Assert.True(failures.Count == 0, $"{failures.Count} mismatches in {texts.Count} HH-RLHF texts:\n" + string.Join("\n", failures.Take(10)));
    }
}

/// <summary>The repository root (from the RepoRoot assembly metadata).</summary>
internal static class HfTestPaths
{
    public static string Root => Path.GetFullPath(typeof(HfTestPaths).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
        .Cast<System.Reflection.AssemblyMetadataAttribute>().First(a => a.Key == "RepoRoot").Value!);
}
