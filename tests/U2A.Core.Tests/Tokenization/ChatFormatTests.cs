using U2A.Core.Tokenization;

namespace U2A.Core.Tests.Tokenization;

/// <summary>The built-in and custom chat formats: rendering, spans, the response split, and input checks.</summary>
public class ChatFormatTests
{
    private static readonly ChatMessage[] Exchange = [ChatMessage.User("Hi there"), ChatMessage.Assistant("Hello!")];

    [Fact]
    public void HumanAssistant_renders_the_HH_RLHF_dialogue_and_puts_the_space_on_the_response_side()
    {
        var f = ChatFormat.HumanAssistant;
        ChatMessage[] c = [ChatMessage.User("Q1"), ChatMessage.Assistant("A1"), ChatMessage.User("Q2"), ChatMessage.Assistant("A2")];
        Assert.Equal("\n\nHuman: Q1\n\nAssistant: A1\n\nHuman: Q2\n\nAssistant: A2", f.RenderText(c));
        Assert.Equal("\n\nHuman: Q1\n\nAssistant:", f.RenderText([ChatMessage.User("Q1")], new ChatRenderOptions { AddGenerationPrompt = true }));
        var s = f.SplitResponse(c);
        Assert.Equal(("\n\nHuman: Q1\n\nAssistant: A1\n\nHuman: Q2\n\nAssistant:", " A2"), (s.Prompt, s.Response));
        Assert.Equal(s.Span.ResponseStart + 1, s.Span.ContentStart);
        // The same text as the PromptTemplate and as an HH-RLHF record's prompt + response.
        var t = PromptTemplate.HumanAssistant;
        Assert.Equal((t.FormatPrompt("Q1"), t.FormatResponse("A1")), (f.SplitResponse(c[..2]).Prompt, f.SplitResponse(c[..2]).Response));
        var e = Assert.Throws<ArgumentException>(() => f.RenderText([ChatMessage.System("s"), .. c]));
        Assert.Contains("has no 'system' role", e.Message);
    }

    [Fact]
    public void Spans_locate_each_message_and_its_content()
    {
        var f = ChatFormat.Llama3();
        ChatMessage[] c = [ChatMessage.System("  sys "), .. Exchange];
        var r = f.Render(c);
        Assert.Equal(3, r.Messages.Count);
        Assert.Equal(0, r.Messages[0].Start);
        Assert.Equal("sys", r.Text[r.Messages[0].ContentStart..r.Messages[0].ContentEnd]);
        Assert.Equal("Hello!", r.Text[r.Messages[2].ContentStart..r.Messages[2].ContentEnd]);
        Assert.Equal("<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>", r.Text[r.Messages[2].Start..r.Messages[2].End]);
        for (int i = 1; i < 3; i++) Assert.Equal(r.Messages[i - 1].End, r.Messages[i].Start);
        Assert.Equal(r.Text.Length, r.Messages[2].End);
    }

    [Fact]
    public void Qwen3_response_starts_at_a_nonempty_think_block_else_at_the_content()
    {
        var q = ChatFormat.Qwen3;
        var s = q.SplitResponse(Exchange);
        Assert.Equal("<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n", s.Prompt);
        Assert.Equal("Hello!<|im_end|>\n", s.Response);
        s = q.SplitResponse([ChatMessage.User("Hi"), ChatMessage.Assistant("<think>\nplan\n</think>\n\nHello!")]);
        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", s.Prompt);
        Assert.Equal("<think>\nplan\n</think>\n\nHello!<|im_end|>\n", s.Response);
        s = q.SplitResponse([ChatMessage.User("Hi"), new ChatMessage(ChatRole.Assistant, "Hello!") { ReasoningContent = "\n\n" }]);
        Assert.Equal("Hello!<|im_end|>\n", s.Response);
    }

    [Fact]
    public void A_custom_TurnChatFormat_renders_and_splits()
    {
        var f = new TurnChatFormat("Zephyr-like", new Dictionary<string, ChatTurnFormat>
        {
            [ChatRole.System] = new("<|system|>\n", "</s>\n"),
            [ChatRole.User] = new("<|user|>\n", "</s>\n"),
            [ChatRole.Assistant] = new("<|assistant|>\n", "</s>\n"),
        }, bosText: "<s>", specialTokens: ["</s>"]);
        Assert.Equal("<s><|user|>\nHi there</s>\n<|assistant|>\nHello!</s>\n", f.RenderText(Exchange));
        Assert.Equal(["<s>", "</s>"], f.SpecialTokens);
        var s = f.SplitResponse(Exchange);
        Assert.Equal("Hello!</s>\n", s.Response);
        Assert.Throws<ArgumentException>(() => new TurnChatFormat("x", new Dictionary<string, ChatTurnFormat> { [ChatRole.User] = new("", "") }));
        Assert.Throws<ArgumentException>(() => new TurnChatFormat("x", new Dictionary<string, ChatTurnFormat> { ["tool"] = new("", ""), [ChatRole.Assistant] = new("", "") }));
    }

    [Fact]
    public void Bad_conversations_are_refused_with_the_message_index()
    {
        var f = ChatFormat.ChatMl;
        Assert.Contains("no messages", Assert.Throws<ArgumentException>(() => f.Render([])).Message);
        Assert.Contains("message 1: role 'tool'", Assert.Throws<ArgumentException>(() => f.Render([ChatMessage.User("a"), new("tool", "x")])).Message);
        Assert.Contains("message 0 (user): Content is null", Assert.Throws<ArgumentException>(() => f.Render([new(ChatRole.User, null!)])).Message);
        Assert.Contains("already ends with an assistant", Assert.Throws<ArgumentException>(() => f.Render(Exchange, new ChatRenderOptions { AddGenerationPrompt = true })).Message);
        Assert.Contains("must end with the assistant", Assert.Throws<ArgumentException>(() => f.SplitResponse([ChatMessage.User("a")])).Message);
    }
}
