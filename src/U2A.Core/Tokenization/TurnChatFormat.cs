using System.Text;

namespace U2A.Core.Tokenization;

/// <summary>
/// A chat format made of one <see cref="ChatTurnFormat"/> per role, for models whose template writes every turn the
/// same way (Llama 3, plain ChatML, HH-RLHF, and most custom formats). Construct one to supply a format that
/// <see cref="ChatTemplate.Load"/> does not recognise.
/// </summary>
public sealed class TurnChatFormat : ChatFormat
{
    private readonly string[] _specialTokens;

    /// <summary>Creates the format.</summary>
    /// <param name="name">A name for messages.</param>
    /// <param name="turns">The turn format of each role it accepts (a subset of system, user, assistant; assistant is required).</param>
    /// <param name="bosText">Text before the first message (a BOS literal), or null.</param>
    /// <param name="trimContent">Strip whitespace around each content (Jinja's <c>| trim</c>, with Python's whitespace set).</param>
    /// <param name="specialTokens">The special-token literals of the prefixes and suffixes (for the tokenizer check of <see cref="ChatEncoder"/>); BOS is added.</param>
    public TurnChatFormat(string name, IReadOnlyDictionary<string, ChatTurnFormat> turns, string? bosText = null, bool trimContent = false,
        IReadOnlyList<string>? specialTokens = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(turns);
        foreach (var (role, turn) in turns)
        {
            if (!ChatRole.IsKnown(role)) throw new ArgumentException($"turns: role '{role}' is not one of '{ChatRole.System}', '{ChatRole.User}', '{ChatRole.Assistant}'.", nameof(turns));
            if (turn is null || turn.Prefix is null || turn.Suffix is null || turn.ResponsePrefix is null)
                throw new ArgumentException($"turns['{role}']: Prefix, Suffix and ResponsePrefix must not be null.", nameof(turns));
        }
        if (!turns.ContainsKey(ChatRole.Assistant)) throw new ArgumentException("turns: the assistant role needs a turn format.", nameof(turns));
        Name = name;
        Turns = new Dictionary<string, ChatTurnFormat>(turns);
        BosText = string.IsNullOrEmpty(bosText) ? null : bosText;
        TrimContent = trimContent;
        _specialTokens = [.. (BosText is null ? [] : new[] { BosText }).Concat(specialTokens ?? []).Distinct()];
    }

    /// <inheritdoc/>
    public override string Name { get; }

    /// <summary>The turn format of each accepted role.</summary>
    public IReadOnlyDictionary<string, ChatTurnFormat> Turns { get; }

    /// <inheritdoc/>
    public override string? BosText { get; }

    /// <summary>Whether contents are trimmed.</summary>
    public bool TrimContent { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<string> SpecialTokens => _specialTokens;

    /// <inheritdoc/>
    protected override ChatRendering RenderCore(IReadOnlyList<ChatMessage> messages, ChatRenderOptions options)
    {
        var sb = new StringBuilder();
        var spans = new ChatSpan[messages.Count];
        for (int i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            if (!Turns.TryGetValue(m.Role, out var turn))
                throw new ArgumentException($"message {i}: the {Name} format has no '{m.Role}' role (it has {string.Join(", ", Turns.Keys)}).", nameof(messages));
            int start = sb.Length;
            if (i == 0 && BosText is not null) sb.Append(BosText);
            sb.Append(turn.Prefix);
            int responseStart = sb.Length;
            sb.Append(turn.ResponsePrefix);
            int contentStart = sb.Length;
            sb.Append(TrimContent ? PythonText.Strip(m.Content) : m.Content);
            int contentEnd = sb.Length;
            sb.Append(turn.Suffix);
            spans[i] = new ChatSpan(i, m.Role, start, responseStart, contentStart, contentEnd, sb.Length);
        }
        if (options.AddGenerationPrompt) sb.Append(Turns[ChatRole.Assistant].Prefix);
        return new ChatRendering(sb.ToString(), spans);
    }
}
