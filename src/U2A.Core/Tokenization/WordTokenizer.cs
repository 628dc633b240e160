namespace U2A.Core.Tokenization;

/// <summary>
/// A word-level tokenizer for synthetic tasks: a fixed word list, text split on whitespace, words outside the list
/// mapped to <see cref="UnknownToken"/>. Ids: <c>&lt;pad&gt;</c> = 0, <c>&lt;bos&gt;</c> = 1, <c>&lt;eos&gt;</c> = 2,
/// <c>&lt;unk&gt;</c> = 3, then the words in the order given.
/// </summary>
/// <remarks>Decode joins tokens with single spaces, so <c>Decode(Encode(t)) == t</c> exactly when the word list covers
/// every word of <c>t</c> and <c>t</c> is words separated by single spaces (no leading or trailing space).</remarks>
public sealed class WordTokenizer : ITextTokenizer
{
    /// <summary>The padding token.</summary>
    public const string PadToken = "<pad>";

    /// <summary>The beginning-of-sequence token.</summary>
    public const string BosToken = "<bos>";

    /// <summary>The end-of-sequence token.</summary>
    public const string EosToken = "<eos>";

    /// <summary>The token of words outside the vocabulary.</summary>
    public const string UnknownToken = "<unk>";

    private readonly string[] _tokens;
    private readonly Dictionary<string, int> _ids;

    /// <summary>Builds the vocabulary: the four special tokens, then <paramref name="words"/> in order.</summary>
    /// <param name="words">The vocabulary words: non-empty, no whitespace, no duplicates, none equal to a special token.</param>
    public WordTokenizer(IEnumerable<string> words)
    {
        _tokens = Build(words, out _ids);
    }

    /// <summary>Every token, indexed by id (the four special tokens first).</summary>
    public IReadOnlyList<string> Tokens => _tokens;

    /// <inheritdoc />
    public int VocabSize => _tokens.Length;

    /// <inheritdoc />
    public int? BosId => 1;

    /// <inheritdoc />
    public int EosId => 2;

    /// <inheritdoc />
    public int PadId => 0;

    /// <summary>The id of <see cref="UnknownToken"/>.</summary>
    public int UnknownId => 3;

    /// <inheritdoc />
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var result = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++) result[i] = _ids.TryGetValue(parts[i], out var id) ? id : UnknownId;
        return result;
    }

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return string.Join(" ", ids.Select(id => id >= 0 && id < _tokens.Length ? _tokens[id]
            : throw new ArgumentOutOfRangeException(nameof(ids), id, $"id outside the vocabulary of {_tokens.Length}.")));
    }

    private static string[] Build(IEnumerable<string> words, out Dictionary<string, int> ids)
    {
        ArgumentNullException.ThrowIfNull(words);
        var tokens = new List<string> { PadToken, BosToken, EosToken, UnknownToken };
        ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < tokens.Count; i++) ids[tokens[i]] = i;
        foreach (var w in words)
        {
            if (string.IsNullOrEmpty(w) || w.Any(char.IsWhiteSpace)) throw new ArgumentException($"word \"{w}\" is empty or holds whitespace.", nameof(words));
            if (!ids.TryAdd(w, tokens.Count)) throw new ArgumentException($"word \"{w}\" is listed twice or is a special token.", nameof(words));
            tokens.Add(w);
        }
        return tokens.ToArray();
    }
}
