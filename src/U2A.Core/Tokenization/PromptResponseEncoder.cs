namespace U2A.Core.Tokenization;

/// <summary>
/// Tokenises a prompt and a response through a <see cref="PromptTemplate"/>: <c>[BOS] Encode(FormatPrompt(p))</c>,
/// then <c>EncodeContinuation(FormatResponse(r)) [EOS]</c>. The two parts are encoded separately and concatenated, so the
/// response starts exactly at <see cref="EncodedSequence.ResponseStart"/> and <c>Decode</c> of the whole is the
/// prompt text followed by the response text. (A BPE merge across the boundary is thereby never made: the ids may
/// differ from encoding the joined string at the boundary, the text does not.)
/// </summary>
/// <param name="tokenizer">The tokenizer.</param>
/// <param name="template">The prompt template; null for <see cref="PromptTemplate.Plain"/>.</param>
/// <param name="addBos">Prepend the tokenizer's BOS (when it has one).</param>
/// <param name="addEos">Append EOS to the response (a response token: the model learns where to stop).</param>
public sealed class PromptResponseEncoder(ITextTokenizer tokenizer, PromptTemplate? template = null, bool addBos = true, bool addEos = true)
{
    /// <summary>The tokenizer.</summary>
    public ITextTokenizer Tokenizer { get; } = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));

    /// <summary>The prompt template.</summary>
    public PromptTemplate Template { get; } = template ?? PromptTemplate.Plain;

    /// <summary>Whether a BOS is prepended (the tokenizer has one and it was asked for).</summary>
    public bool AddsBos { get; } = addBos && tokenizer?.BosId is not null;

    /// <summary>Whether EOS is appended to the response.</summary>
    public bool AddsEos { get; } = addEos;

    /// <summary>
    /// Encodes each prompt and response as a conversation in a model's chat format: [system], user = prompt,
    /// assistant = response, through a <see cref="ChatEncoder"/> (the response starts at the assistant's content; BOS
    /// and end-of-turn come from the format, so <see cref="AddsBos"/> and <see cref="AddsEos"/> are false).
    /// </summary>
    /// <param name="tokenizer">The model's tokenizer (it must know the format's special tokens).</param>
    /// <param name="chatFormat">The chat format, e.g. from <see cref="ChatTemplate.Load"/>.</param>
    /// <param name="systemPrompt">A system message put before every prompt, or null for none.</param>
    public PromptResponseEncoder(ITextTokenizer tokenizer, ChatFormat chatFormat, string? systemPrompt = null)
        : this(tokenizer, null, addBos: false, addEos: false)
    {
        Chat = new ChatEncoder(tokenizer, chatFormat ?? throw new ArgumentNullException(nameof(chatFormat)));
        SystemPrompt = systemPrompt;
    }

    /// <summary>The chat encoder when the encoder was made with a <see cref="ChatFormat"/>; null for a <see cref="PromptTemplate"/>.</summary>
    public ChatEncoder? Chat { get; }

    /// <summary>The system message of a chat-format encoder, or null.</summary>
    public string? SystemPrompt { get; }

    /// <summary>Tokenises <paramref name="prompt"/> and <paramref name="response"/>; throws when either part has no tokens.</summary>
    public EncodedSequence Encode(string prompt, string response)
    {
        if (Chat is not null) return Chat.Encode(prompt, response, SystemPrompt);
        var p = Tokenizer.Encode(Template.FormatPrompt(prompt));
        var r = Tokenizer.EncodeContinuation(Template.FormatResponse(response));
        int bos = AddsBos ? 1 : 0, eos = AddsEos ? 1 : 0;
        if (p.Count + bos == 0) throw new ArgumentException("the prompt encodes to no tokens (and no BOS is added): the first token cannot be predicted, so the response needs a prompt before it.", nameof(prompt));
        if (r.Count + eos == 0) throw new ArgumentException("the response encodes to no tokens.", nameof(response));
        var ids = new int[bos + p.Count + r.Count + eos];
        int k = 0;
        if (AddsBos) ids[k++] = Tokenizer.BosId!.Value;
        foreach (var id in p) ids[k++] = id;
        int start = k;
        foreach (var id in r) ids[k++] = id;
        if (AddsEos) ids[k++] = Tokenizer.EosId;
        return new EncodedSequence(ids, start, bos).Validate();
    }
}
