using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using U2A.Core.Tokenization;
using Xunit.Abstractions;

namespace U2A.Core.Tests.Tokenization;

/// <summary>
/// The native renders equal Hugging Face's Jinja rendering (@huggingface/jinja, with Python's strip semantics, see
/// tests/fixtures/chat/make_fixtures.mjs) of the real Qwen3 and Llama 3.1 templates, and the response split starts at
/// the assistant's content: the prompt equals the reference's text before a marker put in place of the content.
/// </summary>
public class ChatTemplateParityTests(ITestOutputHelper output)
{
    public static TheoryData<string> Templates => new() { "qwen3", "llama3_1" };

    private static ChatFormat FormatOf(string name, ChatFixtures.Fixture f) => name switch
    {
        "qwen3" => ChatTemplate.Load(ChatFixtures.Qwen3Config),
        // The Llama config is not committed; the fixture was rendered from it, and the format is the built-in one
        // (Llama_config_in_shared_loads_as_the_Llama3_format checks that the config maps to it).
        _ => ChatFormat.Llama3(f.BosToken!),
    };

    [Theory]
    [MemberData(nameof(Templates))]
    public void Renders_equal_the_Jinja_reference_for_every_fixture_conversation(string name)
    {
        var f = ChatFixtures.Load(name);
        var format = FormatOf(name, f);
        var conversations = f.Cases.Select(c => c.Id.Split('/')[0]).Distinct().Count();
        Assert.True(conversations >= 30, $"{name}: only {conversations} conversations");
        var failures = new List<string>();
        foreach (var c in f.Cases)
        {
            string actual = format.RenderText(c.Messages, c.Options);
            if (actual != c.Expected) failures.Add($"{c.Id}:\n  expected {JsonSerializer.Serialize(c.Expected)}\n  actual   {JsonSerializer.Serialize(actual)}");
        }
        int withGen = f.Cases.Count(c => c.Options.AddGenerationPrompt), withSystem = f.Cases.Count(c => c.Messages[0].Role == ChatRole.System);
        output.WriteLine($"{name}: {f.Cases.Count - failures.Count}/{f.Cases.Count} renders identical over {conversations} conversations " +
            $"({withGen} with a generation prompt, {withSystem} with a system message); {f.DifferingFromUnpatched} cases differ from the unpatched @huggingface/jinja");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(withGen >= 10 && withSystem >= 20);
    }

    [Theory]
    [MemberData(nameof(Templates))]
    public void The_response_starts_at_the_assistant_content_and_ends_with_the_end_of_turn_text(string name)
    {
        var f = ChatFixtures.Load(name);
        var format = FormatOf(name, f);
        string endOfTurn = name == "qwen3" ? "<|im_end|>\n" : "<|eot_id|>";
        int checkedMarker = 0, split = 0;
        foreach (var c in f.Cases.Where(c => c.Messages[^1].Role == ChatRole.Assistant))
        {
            var s = format.SplitResponse(c.Messages, c.Options);
            split++;
            Assert.Equal(c.Expected, s.Prompt + s.Response);
            Assert.EndsWith(endOfTurn, s.Response, StringComparison.Ordinal);
            if (c.BeforeContent is null) continue;
            // Independent of our renderer: the reference's text before / after a marker that replaced the content.
            Assert.Equal(c.BeforeContent, s.Prompt);
            Assert.Equal(endOfTurn, c.AfterContent);
            checkedMarker++;
        }
        output.WriteLine($"{name}: {split} splits, {checkedMarker} checked against the marker render");
        Assert.True(checkedMarker >= 25, $"{checkedMarker} marker checks");
    }

    [Fact]
    public void The_Qwen3_fixture_was_rendered_from_the_committed_config()
    {
        var f = ChatFixtures.Load("qwen3");
        using var config = JsonDocument.Parse(File.ReadAllBytes(ChatFixtures.Qwen3Config));
        string template = config.RootElement.GetProperty("chat_template").GetString()!;
        Assert.Equal(f.TemplateSha256, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(template))));
    }

    [SkippableFact]
    public void Llama_config_in_shared_loads_as_the_Llama3_format_and_matches_the_fixture()
    {
        string path = ChatFixtures.RequireLlamaConfig();
        var f = ChatFixtures.Load("llama3_1");
        using var config = JsonDocument.Parse(File.ReadAllBytes(path));
        string template = config.RootElement.GetProperty("chat_template").GetString()!;
        Assert.Equal(f.TemplateSha256, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(template))));
        var format = ChatTemplate.Load(path);
        Assert.Equal("<|begin_of_text|>", format.BosText);
        foreach (var c in f.Cases) Assert.Equal(c.Expected, format.RenderText(c.Messages, c.Options));
    }
}
