using System.Reflection;
using System.Text.Json;
using U2A.Core.Tokenization;

namespace U2A.Core.Tests.Tokenization;

/// <summary>The committed chat-template renders of tests/fixtures/chat (written by make_fixtures.mjs from @huggingface/jinja).</summary>
internal static class ChatFixtures
{
    public sealed record Case(string Id, IReadOnlyList<ChatMessage> Messages, ChatRenderOptions Options, string Expected,
        string? UnpatchedJs, string? BeforeContent, string? AfterContent);

    public sealed record Fixture(string TemplateSha256, string? BosToken, int DifferingFromUnpatched, IReadOnlyList<Case> Cases);

    private static string Root => typeof(ChatFixtures).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "RepoRoot").Value!;

    public static string Dir => Path.GetFullPath(Path.Combine(Root, "tests", "fixtures", "chat"));

    /// <summary>The committed copy of Qwen3's tokenizer_config.json (Apache-2.0).</summary>
    public static string Qwen3Config => Path.Combine(Dir, "qwen3_tokenizer_config.json");

    /// <summary>The shared Llama 3.1 tokenizer_config.json (not committed: Llama licence); skips the test when absent.</summary>
    public static string RequireLlamaConfig()
    {
        var path = Path.GetFullPath(Path.Combine(Root, "..", "shared", "data", "tokenizers", "llama3_1", "tokenizer_config.json"));
        Skip.IfNot(File.Exists(path), $"needs the Llama 3.1 tokenizer_config.json at {path} (shared/ beside the repository; Llama licence, not committed)");
        return path;
    }

    public static Fixture Load(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Dir, name + ".renders.json")));
        var root = doc.RootElement;
        var cases = new List<Case>();
        foreach (var c in root.GetProperty("cases").EnumerateArray())
        {
            var messages = c.GetProperty("messages").EnumerateArray().Select(m =>
                new ChatMessage(m.GetProperty("role").GetString()!, m.GetProperty("content").GetString()!)
                {
                    ReasoningContent = m.TryGetProperty("reasoning_content", out var r) ? r.GetString() : null,
                }).ToList();
            var options = new ChatRenderOptions
            {
                AddGenerationPrompt = c.GetProperty("add_generation_prompt").GetBoolean(),
                EnableThinking = c.TryGetProperty("enable_thinking", out var t) ? t.GetBoolean() : null,
            };
            cases.Add(new Case(c.GetProperty("id").GetString()!, messages, options, c.GetProperty("expected").GetString()!,
                Str(c, "unpatched_js"), Str(c, "before_content"), Str(c, "after_content")));
        }
        return new Fixture(root.GetProperty("template_sha256").GetString()!, Str(root, "bos_token"),
            root.GetProperty("cases_differing_from_unpatched_js").GetInt32(), cases);
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
