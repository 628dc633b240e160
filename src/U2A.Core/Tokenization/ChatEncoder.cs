namespace U2A.Core.Tokenization;

/// <summary>
/// Tokenises a conversation that ends with the assistant's response, in a <see cref="ChatFormat"/>, with the response
/// boundary exact: the format's <see cref="ChatFormat.SplitResponse"/> gives the prompt text (everything before the
/// response's content) and the response text (content and the end-of-turn text the template appends: Qwen3/ChatML
/// <c>&lt;|im_end|&gt;\n</c>, Llama 3 <c>&lt;|eot_id|&gt;</c>, the spans TRL's assistant-only loss marks, but from the
/// content on, not from the assistant header). The prompt is encoded with <see cref="ITextTokenizer.Encode"/>, the
/// response with <see cref="ITextTokenizer.EncodeContinuation"/>, and the two concatenated, so
/// <see cref="EncodedSequence.ResponseStart"/> is the first token of the content.
/// </summary>
/// <remarks>
/// No BOS is added: a template that wants one writes its literal (Llama 3), as with transformers'
/// <c>apply_chat_template</c>, which tokenises without special tokens. The tokenizer must therefore know the format's
/// special-token literals (a Hugging Face tokenizer.json does); the constructor checks that each encodes to one id.
/// </remarks>
public sealed class ChatEncoder
{
    /// <summary>Creates the encoder; throws when the tokenizer splits one of the format's special-token literals.</summary>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="format">The chat format.</param>
    /// <param name="addEos">
    /// Append the tokenizer's EOS id to the response. Null (default): only when the assistant turn has no end-of-turn
    /// text of its own (<see cref="ChatFormat.HumanAssistant"/>), so the model still learns where to stop.
    /// </param>
    public ChatEncoder(ITextTokenizer tokenizer, ChatFormat format, bool? addEos = null)
    {
        Tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        Format = format ?? throw new ArgumentNullException(nameof(format));
        AddEos = addEos;
        foreach (var literal in format.SpecialTokens)
        {
            int n = tokenizer.Encode(literal).Count;
            if (n != 1)
                throw new ArgumentException(
                    $"the tokenizer encodes '{literal}' of the {format.Name} chat format as {n} tokens, not one: it does not know the " +
                    "format's special tokens. Use the model's own tokenizer (its tokenizer.json), or a format without them " +
                    "(ChatFormat.HumanAssistant, a TurnChatFormat, a PromptTemplate).", nameof(tokenizer));
        }
    }

    /// <summary>The tokenizer.</summary>
    public ITextTokenizer Tokenizer { get; }

    /// <summary>The chat format.</summary>
    public ChatFormat Format { get; }

    /// <summary>Whether EOS is appended (null: when the assistant turn has no end-of-turn text).</summary>
    public bool? AddEos { get; }

    /// <summary>Tokenises <paramref name="conversation"/>; its last message must be the assistant's response.</summary>
    public EncodedSequence Encode(IReadOnlyList<ChatMessage> conversation, ChatRenderOptions? options = null)
    {
        var split = Format.SplitResponse(conversation, options);
        var p = Tokenizer.Encode(split.Prompt);
        var r = Tokenizer.EncodeContinuation(split.Response);
        bool eos = AddEos ?? split.Span.End == split.Span.ContentEnd;
        if (p.Count == 0) throw new ArgumentException("the prompt encodes to no tokens: the first token cannot be predicted, so the response needs a prompt before it.", nameof(conversation));
        if (r.Count + (eos ? 1 : 0) == 0) throw new ArgumentException("the response encodes to no tokens.", nameof(conversation));
        var ids = new int[p.Count + r.Count + (eos ? 1 : 0)];
        int k = 0;
        foreach (var id in p) ids[k++] = id;
        foreach (var id in r) ids[k++] = id;
        if (eos) ids[k] = Tokenizer.EosId;
        int leading = Format.BosText is { } bos && split.Prompt.StartsWith(bos, StringComparison.Ordinal) ? Tokenizer.Encode(bos).Count : 0;
        return new EncodedSequence(ids, p.Count, leading).Validate();
    }

    /// <summary>Tokenises a single exchange: an optional system message, the user's <paramref name="prompt"/>, the assistant's <paramref name="response"/>.</summary>
    public EncodedSequence Encode(string prompt, string response, string? system = null)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(response);
        var messages = new List<ChatMessage>(3);
        if (system is not null) messages.Add(ChatMessage.System(system));
        messages.Add(ChatMessage.User(prompt));
        messages.Add(ChatMessage.Assistant(response));
        return Encode(messages);
    }
}
