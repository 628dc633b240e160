namespace U2A.Core.Tokenization;

/// <summary>
/// A model's chat format: renders a conversation to text the way its Hugging Face chat template does, and says where
/// each message lies in the text. <see cref="ChatTemplate.Load"/> picks the format of a tokenizer_config.json; the
/// built-ins are <see cref="Qwen3"/>, <see cref="Llama3"/>, <see cref="ChatMl"/> and <see cref="HumanAssistant"/>;
/// other formats are a <see cref="TurnChatFormat"/> (a prefix and suffix per role) or a subclass.
/// </summary>
public abstract class ChatFormat
{
    /// <summary>A short name for messages and logs.</summary>
    public abstract string Name { get; }

    /// <summary>Text the format puts before the first message (the tokenizer's BOS literal), or null.</summary>
    public virtual string? BosText => null;

    /// <summary>
    /// The special-token literals the rendered text holds; a tokenizer for the format must encode each to a single id
    /// (<see cref="ChatEncoder"/> checks this).
    /// </summary>
    public virtual IReadOnlyList<string> SpecialTokens => [];

    /// <summary>Renders <paramref name="messages"/>; throws for an empty conversation, a null or unknown role or content, or a generation prompt after an assistant message.</summary>
    public ChatRendering Render(IReadOnlyList<ChatMessage> messages, ChatRenderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        options ??= new ChatRenderOptions();
        if (messages.Count == 0) throw new ArgumentException("the conversation has no messages.", nameof(messages));
        for (int i = 0; i < messages.Count; i++)
        {
            var m = messages[i] ?? throw new ArgumentException($"message {i} is null.", nameof(messages));
            if (!ChatRole.IsKnown(m.Role))
                throw new ArgumentException($"message {i}: role '{m.Role}' is not one of '{ChatRole.System}', '{ChatRole.User}', '{ChatRole.Assistant}'.", nameof(messages));
            if (m.Content is null) throw new ArgumentException($"message {i} ({m.Role}): Content is null.", nameof(messages));
        }
        if (options.AddGenerationPrompt && messages[^1].Role == ChatRole.Assistant)
            throw new ArgumentException("AddGenerationPrompt is set but the conversation already ends with an assistant message.", nameof(options));
        var rendering = RenderCore(messages, options);
        if (rendering.Messages.Count != messages.Count)
            throw new InvalidOperationException($"{Name}: the render gave {rendering.Messages.Count} spans for {messages.Count} messages.");
        return rendering;
    }

    /// <summary>The rendered text alone.</summary>
    public string RenderText(IReadOnlyList<ChatMessage> messages, ChatRenderOptions? options = null) => Render(messages, options).Text;

    /// <summary>
    /// Splits a conversation that ends with the assistant's response into the prompt (everything before the response's
    /// <see cref="ChatSpan.ResponseStart"/>) and the response (from there to the end, the end-of-turn text included).
    /// </summary>
    public ChatPromptResponse SplitResponse(IReadOnlyList<ChatMessage> conversation, ChatRenderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(conversation);
        if (conversation.Count == 0 || conversation[^1]?.Role != ChatRole.Assistant)
            throw new ArgumentException("the conversation must end with the assistant's response.", nameof(conversation));
        if (options?.AddGenerationPrompt == true)
            throw new ArgumentException("AddGenerationPrompt cannot be set when splitting off the response.", nameof(options));
        var r = Render(conversation, options);
        var span = r.Messages[^1];
        if (span.End != r.Text.Length)
            throw new InvalidOperationException($"{Name}: text follows the last assistant turn ({r.Text.Length - span.End} characters).");
        return new ChatPromptResponse(r.Text[..span.ResponseStart], r.Text[span.ResponseStart..], span);
    }

    /// <summary>Renders a conversation already checked by <see cref="Render"/>.</summary>
    protected abstract ChatRendering RenderCore(IReadOnlyList<ChatMessage> messages, ChatRenderOptions options);

    /// <inheritdoc/>
    public override string ToString() => Name;

    /// <summary>Qwen3's template (ChatML with <c>&lt;think&gt;</c> blocks); see <see cref="Qwen3ChatFormat"/>.</summary>
    public static ChatFormat Qwen3 { get; } = new Qwen3ChatFormat();

    /// <summary>
    /// The Llama 3 header format: <c>BOS</c> before the first turn, each turn
    /// <c>&lt;|start_header_id|&gt;ROLE&lt;|end_header_id|&gt;\n\n</c> + content (trimmed) + <c>&lt;|eot_id|&gt;</c>,
    /// the generation prompt the assistant header. No system preamble is injected (the template of Meta-Llama-3 and of
    /// the shared Llama 3.1 tokenizer_config.json; the later 3.1 template with a "Cutting Knowledge Date" preamble is
    /// not supported).
    /// </summary>
    /// <param name="bosText">The BOS literal (<c>bos_token</c> of the config).</param>
    public static TurnChatFormat Llama3(string bosText = "<|begin_of_text|>")
    {
        ArgumentNullException.ThrowIfNull(bosText);
        static ChatTurnFormat Turn(string role) => new("<|start_header_id|>" + role + "<|end_header_id|>\n\n", "<|eot_id|>");
        return new TurnChatFormat("Llama 3",
            new Dictionary<string, ChatTurnFormat>
            {
                [ChatRole.System] = Turn(ChatRole.System),
                [ChatRole.User] = Turn(ChatRole.User),
                [ChatRole.Assistant] = Turn(ChatRole.Assistant),
            },
            bosText: bosText, trimContent: true,
            specialTokens: ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]);
    }

    /// <summary>
    /// Plain ChatML: each turn <c>&lt;|im_start|&gt;ROLE\n</c> + content + <c>&lt;|im_end|&gt;\n</c>, the generation prompt
    /// <c>&lt;|im_start|&gt;assistant\n</c>; no default system prompt, no think blocks (use <see cref="Qwen3"/> for Qwen3).
    /// </summary>
    public static TurnChatFormat ChatMl { get; } = new("ChatML",
        new Dictionary<string, ChatTurnFormat>
        {
            [ChatRole.System] = new("<|im_start|>system\n", "<|im_end|>\n"),
            [ChatRole.User] = new("<|im_start|>user\n", "<|im_end|>\n"),
            [ChatRole.Assistant] = new("<|im_start|>assistant\n", "<|im_end|>\n"),
        },
        specialTokens: ["<|im_start|>", "<|im_end|>"]);

    /// <summary>
    /// Anthropic's HH-RLHF dialogue format: <c>"\n\nHuman: " + user</c>, <c>"\n\nAssistant: " + assistant</c>, the
    /// generation prompt <c>"\n\nAssistant:"</c>. The space after "Assistant:" is the response's first character (as in
    /// <see cref="PromptTemplate.HumanAssistant"/> and the HH-RLHF records, where BPE tokenizers join it to the first
    /// word). There is no system role and no end-of-turn text (<see cref="ChatEncoder"/> appends EOS by default).
    /// </summary>
    public static TurnChatFormat HumanAssistant { get; } = new("HH-RLHF Human/Assistant",
        new Dictionary<string, ChatTurnFormat>
        {
            [ChatRole.User] = new("\n\nHuman: ", ""),
            [ChatRole.Assistant] = new("\n\nAssistant:", "", ResponsePrefix: " "),
        });
}
