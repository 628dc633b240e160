using System.Text.Json;
using System.Text.Json.Nodes;
using U2A.Core.Tokenization;

namespace U2A.Core.Tests.Tokenization;

/// <summary>Loading tokenizer_config.json chat templates: recognition by canonical form, named templates, side files, errors.</summary>
public sealed class ChatTemplateTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("u2a-chat-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string QwenTemplate =>
        JsonNode.Parse(File.ReadAllText(ChatFixtures.Qwen3Config))!["chat_template"]!.GetValue<string>();

    private string WriteConfig(JsonNode? chatTemplate, JsonNode? bos = null, string file = "tokenizer_config.json")
    {
        var o = new JsonObject { ["eos_token"] = "<|im_end|>" };
        if (chatTemplate is not null) o["chat_template"] = chatTemplate;
        if (bos is not null) o["bos_token"] = bos;
        var path = Path.Combine(_dir, file);
        File.WriteAllText(path, o.ToJsonString());
        return path;
    }

    [Fact]
    public void The_committed_Qwen3_config_loads_as_Qwen3_from_the_file_or_its_folder()
    {
        Assert.Same(ChatFormat.Qwen3, ChatTemplate.Load(ChatFixtures.Qwen3Config));
        File.Copy(ChatFixtures.Qwen3Config, Path.Combine(_dir, "tokenizer_config.json"));
        Assert.Same(ChatFormat.Qwen3, ChatTemplate.Load(_dir));
    }

    [Fact]
    public void A_reformatted_copy_of_a_known_template_is_recognised()
    {
        string t = QwenTemplate;
        // CRLF line ends, re-indented tags, other quotes, subscript instead of attribute, spaces inside tags, and a
        // whitespace control that strips nothing (trim_blocks and lstrip_blocks already remove the newline and indent).
        string variant = t.Replace("{%- if add_generation_prompt %}", "{% if add_generation_prompt %}").Replace("\n", "\r\n")
            .Replace("\r\n    {%- ", "\r\n\t\t{%- ")
            .Replace("messages[0].role", "messages[0]['role']")
            .Replace("{%- if tools %}", "{%-   if    tools   %}")
            .Replace("'\\n\\n' }}", "\"\\n\\n\" }}");
        Assert.NotEqual(t, variant);
        Assert.Equal(ChatTemplate.CanonicalHash(t), ChatTemplate.CanonicalHash(variant));
        Assert.Same(ChatFormat.Qwen3, ChatTemplate.Recognize(variant, null, "variant"));
    }

    [Theory]
    [InlineData("'<|im_start|>assistant\\n'", "'<|im_start|>assistant \\n'")]   // a changed literal
    [InlineData("{%- if add_generation_prompt %}\n    {{-", "{%- if add_generation_prompt %}\n    {{")] // whitespace control that changes the output
    [InlineData("enable_thinking is false", "enable_thinking is true")]
    public void A_template_that_renders_differently_is_not_recognised(string from, string to)
    {
        string t = QwenTemplate;
        Assert.Contains(from, t);
        string changed = t.Replace(from, to);
        var e = Assert.Throws<InvalidDataException>(() => ChatTemplate.Recognize(changed, null, "my/tokenizer_config.json"));
        Assert.StartsWith("my/tokenizer_config.json: ", e.Message);
        Assert.Contains("looks like ChatML", e.Message);
    }

    [Fact]
    public void An_unsupported_template_names_the_file_and_how_to_supply_a_format()
    {
        var path = WriteConfig("{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}");
        var e = Assert.Throws<InvalidDataException>(() => ChatTemplate.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("[INST]", e.Message);
        foreach (var hint in new[] { "TurnChatFormat", "ChatFormat.ChatMl", "ChatEncoder", "PromptTemplate" }) Assert.Contains(hint, e.Message);
    }

    [Fact]
    public void A_config_without_template_or_with_a_broken_one_says_so()
    {
        var e = Assert.Throws<InvalidDataException>(() => ChatTemplate.Load(WriteConfig(null)));
        Assert.Contains("no chat_template", e.Message);
        e = Assert.Throws<InvalidDataException>(() => ChatTemplate.Load(WriteConfig(42)));
        Assert.Contains("'chat_template' is neither a string nor a list", e.Message);
        e = Assert.Throws<InvalidDataException>(() => ChatTemplate.Load(WriteConfig("{{ messages")));
        Assert.Contains("unclosed", e.Message);
        Assert.Contains("TurnChatFormat", e.Message);
        Assert.Throws<FileNotFoundException>(() => ChatTemplate.Load(Path.Combine(_dir, "nope.json")));
    }

    [Fact]
    public void Named_templates_pick_default_or_the_given_name()
    {
        var list = new JsonArray
        {
            new JsonObject { ["name"] = "tool_use", ["template"] = "{{ 'tools' }}" },
            new JsonObject { ["name"] = "default", ["template"] = QwenTemplate },
        };
        var path = WriteConfig(list);
        Assert.Same(ChatFormat.Qwen3, ChatTemplate.Load(path));
        var e = Assert.Throws<InvalidDataException>(() => ChatTemplate.Load(path, "tool_use"));
        Assert.Contains("(template 'tool_use')", e.Message);
        e = Assert.Throws<InvalidDataException>(() => ChatTemplate.Load(path, "rag"));
        Assert.Contains("no template named 'rag' (it has: tool_use, default)", e.Message);
    }

    [Fact]
    public void A_chat_template_jinja_beside_a_config_without_template_is_read()
    {
        var path = WriteConfig(null);
        File.WriteAllText(Path.Combine(_dir, "chat_template.jinja"), QwenTemplate);
        Assert.Same(ChatFormat.Qwen3, ChatTemplate.Load(path));
    }

    [SkippableFact]
    public void The_bos_token_of_the_config_is_taken_also_as_an_added_token_object()
    {
        // The Llama template is read from shared/ (Llama licence: not committed).
        string llama = JsonNode.Parse(File.ReadAllText(ChatFixtures.RequireLlamaConfig()))!["chat_template"]!.GetValue<string>();
        File.WriteAllText(Path.Combine(_dir, "chat_template.jinja"), llama);
        var format = ChatTemplate.Load(WriteConfig(null, bos: new JsonObject { ["content"] = "<s>", ["lstrip"] = false }));
        Assert.Equal("<s>", format.BosText);
        Assert.Equal("<s><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>", format.RenderText([ChatMessage.User(" hi\n")]));
    }
}
