using System.Text;

namespace U2A.Core.Tokenization;

/// <summary>
/// Qwen3's chat template (ChatML with thinking), rendered natively with the template's default behaviour:
/// <list type="bullet">
/// <item>a first system message becomes <c>&lt;|im_start|&gt;system\n…&lt;|im_end|&gt;\n</c> (no default system prompt); later system and user messages the same with their role;</item>
/// <item>an assistant message's reasoning is its <see cref="ChatMessage.ReasoningContent"/>, else the text of a
/// <c>&lt;think&gt;…&lt;/think&gt;</c> block in its content (which is then the text after <c>&lt;/think&gt;</c>, leading newlines stripped);</item>
/// <item>assistant messages after the last user query are written <c>&lt;|im_start|&gt;assistant\n&lt;think&gt;\nREASONING\n&lt;/think&gt;\n\nCONTENT&lt;|im_end|&gt;\n</c> when they are
/// the last message or have reasoning (an empty block for a final answer without reasoning); earlier ones drop their reasoning;</item>
/// <item>the generation prompt is <c>&lt;|im_start|&gt;assistant\n</c>, followed by an empty think block when <see cref="ChatRenderOptions.EnableThinking"/> is false.</item>
/// </list>
/// The string methods follow Python (<c>lstrip('\n')</c> strips newlines only), as transformers' Jinja does. A user
/// message wrapped in <c>&lt;tool_response&gt;…&lt;/tool_response&gt;</c> is not a query (as in the template); tools and
/// tool calls are not supported.
/// </summary>
public sealed class Qwen3ChatFormat : ChatFormat
{
    internal Qwen3ChatFormat() { }

    /// <inheritdoc/>
    public override string Name => "Qwen3 (ChatML with think blocks)";

    /// <inheritdoc/>
    public override IReadOnlyList<string> SpecialTokens { get; } = ["<|im_start|>", "<|im_end|>", "<think>", "</think>"];

    /// <inheritdoc/>
    protected override ChatRendering RenderCore(IReadOnlyList<ChatMessage> messages, ChatRenderOptions options)
    {
        var sb = new StringBuilder();
        var spans = new ChatSpan[messages.Count];
        int lastQuery = messages.Count - 1;
        for (int i = messages.Count - 1; i >= 0; i--)
        {
            var m = messages[i];
            if (m.Role == ChatRole.User && !(m.Content.StartsWith("<tool_response>", StringComparison.Ordinal) && m.Content.EndsWith("</tool_response>", StringComparison.Ordinal)))
            {
                lastQuery = i;
                break;
            }
        }
        for (int i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            int start = sb.Length;
            if (m.Role != ChatRole.Assistant)
            {
                sb.Append("<|im_start|>").Append(m.Role).Append('\n');
                int cs = sb.Length;
                sb.Append(m.Content);
                int ce = sb.Length;
                sb.Append("<|im_end|>\n");
                spans[i] = new ChatSpan(i, m.Role, start, cs, cs, ce, sb.Length);
                continue;
            }
            string content = m.Content, reasoning = "";
            if (m.ReasoningContent is not null) reasoning = m.ReasoningContent;
            else if (content.Contains("</think>", StringComparison.Ordinal))
            {
                string before = content[..content.IndexOf("</think>", StringComparison.Ordinal)];
                string after = content[(content.LastIndexOf("</think>", StringComparison.Ordinal) + "</think>".Length)..];
                content = PythonText.LStrip(after, "\n");
                before = PythonText.RStrip(before, "\n");
                int open = before.LastIndexOf("<think>", StringComparison.Ordinal);
                reasoning = PythonText.LStrip(open < 0 ? before : before[(open + "<think>".Length)..], "\n");
            }
            sb.Append("<|im_start|>assistant\n");
            int responseStart;
            if (i > lastQuery && (i == messages.Count - 1 || reasoning.Length > 0))
            {
                string thought = PythonText.Strip(reasoning, "\n");
                int thinkStart = sb.Length;
                sb.Append("<think>\n").Append(thought).Append("\n</think>\n\n");
                content = PythonText.LStrip(content, "\n");
                // An empty block is the template's filler, the same text the no-thinking generation prompt holds; a
                // non-empty one is the model's own output.
                responseStart = thought.Length > 0 ? thinkStart : sb.Length;
            }
            else responseStart = sb.Length;
            int contentStart = sb.Length;
            sb.Append(content);
            int contentEnd = sb.Length;
            sb.Append("<|im_end|>\n");
            spans[i] = new ChatSpan(i, m.Role, start, responseStart, contentStart, contentEnd, sb.Length);
        }
        if (options.AddGenerationPrompt)
        {
            sb.Append("<|im_start|>assistant\n");
            if (options.EnableThinking == false) sb.Append("<think>\n\n</think>\n\n");
        }
        return new ChatRendering(sb.ToString(), spans);
    }
}
