using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace U2A.Core.Tokenization;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> (with its <c>tokenizer_config.json</c>) as an <see cref="ITextTokenizer"/>, with
/// the ids and text of Hugging Face's own implementation. Supported: the BPE model (byte-level or not; <c>ignore_merges</c>,
/// <c>byte_fallback</c>, <c>unk_token</c>, <c>fuse_unk</c>); normalizers NFC, NFD, NFKC, NFKD, Lowercase, Strip, Replace,
/// Prepend and Sequence; pre-tokenizers Split (every delimiter behaviour, <c>invert</c>), ByteLevel, Metaspace and
/// Sequence; post-processors TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing and Sequence; decoders
/// ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace and Sequence. Added tokens are recognised in text as
/// Hugging Face does (longest match first; <c>single_word</c>, <c>lstrip</c>, <c>rstrip</c>, <c>normalized</c>).
/// Anything else is refused with a <see cref="TokenizerFileException"/> naming the file and JSON path. Thread-safe.
/// </summary>
/// <remarks>
/// <para><see cref="Encode(string)"/> adds no special tokens (the <see cref="PromptResponseEncoder"/> adds
/// <see cref="BosId"/>); <see cref="Encode(string, bool)"/> with <c>true</c> applies the post-processor, as Hugging Face's
/// <c>encode(text)</c> does. <see cref="Decode(IEnumerable{int})"/> returns the exact text (special tokens kept, no
/// clean-up); <see cref="Decode(IEnumerable{int}, bool, bool?)"/> offers Hugging Face's options.</para>
/// <para>Not applied: <c>truncation</c> and <c>padding</c> of <c>tokenizer.json</c> (batching does its own). Lone
/// UTF-16 surrogates in the text are encoded as U+FFFD.</para>
/// </remarks>
public sealed class HfTokenizer : ITextTokenizer
{
    /// <summary>The largest <c>tokenizer.json</c> accepted, in bytes.</summary>
    public const long MaxTokenizerJsonBytes = 512L * 1024 * 1024;

    /// <summary>The largest <c>tokenizer_config.json</c> accepted, in bytes.</summary>
    public const long MaxTokenizerConfigBytes = 64L * 1024 * 1024;

    /// <summary>The largest token id accepted (ids index arrays of this size).</summary>
    public const int MaxTokenId = (1 << 23) - 1;

    private static readonly TimeSpan RegexTimeout = TimeSpan.FromSeconds(5);
    private static readonly HashSet<string> LlamaLikeClasses = new(StringComparer.Ordinal)
    {
        "LlamaTokenizer", "LlamaTokenizerFast", "CodeLlamaTokenizer", "CodeLlamaTokenizerFast", "GemmaTokenizer", "GemmaTokenizerFast",
    };

    private readonly HfBpeModel _model;
    private readonly HfNormalizer? _normalizer;
    private readonly HfPreTokenizer? _preTokenizer;
    private readonly HfDecoder? _decoder;
    private readonly string?[] _idToToken;
    private readonly Dictionary<string, int> _tokenToId;
    private readonly HashSet<int> _specialIds;
    private readonly HfTokenTrie _rawTrie;
    private readonly HfTokenTrie _normalizedTrie;
    private readonly int[] _prefixIds;
    private readonly int[] _suffixIds;
    private readonly bool _byteLevel;

    private HfTokenizer(Loader l)
    {
        _model = l.Model!;
        _normalizer = l.Normalizer;
        _preTokenizer = l.PreTokenizer;
        _decoder = l.Decoder;
        _idToToken = l.IdToToken!;
        _tokenToId = l.TokenToId!;
        _specialIds = l.SpecialIds;
        _rawTrie = l.RawTrie;
        _normalizedTrie = l.NormalizedTrie;
        _prefixIds = l.Prefix;
        _suffixIds = l.Suffix;
        _byteLevel = _preTokenizer?.ByteLevel ?? false;
        AddedTokens = l.Added;
        VocabSize = _idToToken.Length;
        BosId = _prefixIds.Length == 1 ? _prefixIds[0] : null;
        EosId = l.EosId;
        PadId = l.PadId;
        CleanUpTokenizationSpaces = l.CleanUp;
    }

    /// <inheritdoc />
    public int VocabSize { get; }

    /// <summary>
    /// The id the post-processor puts before a text when special tokens are requested (Llama 3's
    /// <c>&lt;|begin_of_text|&gt;</c>), or null when it adds none (Qwen) or more than one.
    /// </summary>
    public int? BosId { get; }

    /// <summary>The id of <c>tokenizer_config.json</c>'s <c>eos_token</c> (or of the EOS token given to the loader).</summary>
    public int EosId { get; }

    /// <summary>The id of <c>tokenizer_config.json</c>'s <c>pad_token</c>, else <see cref="EosId"/>.</summary>
    public int PadId { get; }

    /// <summary>The added tokens of <c>tokenizer.json</c>, in file order.</summary>
    public IReadOnlyList<HfAddedToken> AddedTokens { get; }

    /// <summary>
    /// <c>clean_up_tokenization_spaces</c> of <c>tokenizer_config.json</c> (true when absent, as Hugging Face's JavaScript
    /// tokenizer assumes): whether <see cref="Decode(IEnumerable{int}, bool, bool?)"/> removes the space before
    /// punctuation and contractions by default.
    /// </summary>
    public bool CleanUpTokenizationSpaces { get; }

    /// <summary>Loads <c>tokenizer.json</c> and, when given, <c>tokenizer_config.json</c> from files.</summary>
    /// <param name="tokenizerJsonPath">The <c>tokenizer.json</c> file.</param>
    /// <param name="tokenizerConfigPath">The <c>tokenizer_config.json</c> file, or null.</param>
    /// <param name="eosToken">The EOS token when the config names none (or to override it).</param>
    public static HfTokenizer FromFile(string tokenizerJsonPath, string? tokenizerConfigPath = null, string? eosToken = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizerJsonPath);
        var json = HfJson.ReadFile(tokenizerJsonPath, MaxTokenizerJsonBytes);
        // A null byte[] converts to an empty, non-null ReadOnlyMemory<byte>?: keep "no config" null explicitly.
        ReadOnlyMemory<byte>? config = tokenizerConfigPath is null ? (ReadOnlyMemory<byte>?)null : HfJson.ReadFile(tokenizerConfigPath, MaxTokenizerConfigBytes);
        return FromJson(json, config, tokenizerJsonPath, tokenizerConfigPath ?? "tokenizer_config.json", eosToken);
    }

    /// <summary>Loads a tokenizer from the UTF-8 JSON of <c>tokenizer.json</c> and (optionally) <c>tokenizer_config.json</c>.</summary>
    /// <param name="tokenizerJson">The bytes of <c>tokenizer.json</c>.</param>
    /// <param name="tokenizerConfigJson">The bytes of <c>tokenizer_config.json</c>, or null.</param>
    /// <param name="tokenizerJsonName">The name errors give the first file.</param>
    /// <param name="tokenizerConfigName">The name errors give the second file.</param>
    /// <param name="eosToken">The EOS token when the config names none (or to override it).</param>
    /// <exception cref="TokenizerFileException">A file is malformed, too large, or uses an unsupported component.</exception>
    public static HfTokenizer FromJson(ReadOnlyMemory<byte> tokenizerJson, ReadOnlyMemory<byte>? tokenizerConfigJson = null,
        string tokenizerJsonName = "tokenizer.json", string tokenizerConfigName = "tokenizer_config.json", string? eosToken = null)
    {
        using var doc = HfJson.Parse(tokenizerJson, tokenizerJsonName, MaxTokenizerJsonBytes);
        using var cfg = tokenizerConfigJson is { } c ? HfJson.Parse(c, tokenizerConfigName, MaxTokenizerConfigBytes) : null;
        var loader = new Loader();
        loader.Load(new HfJson(doc.RootElement, tokenizerJsonName, "$"), cfg is null ? null : new HfJson(cfg.RootElement, tokenizerConfigName, "$"), eosToken, tokenizerConfigName);
        return new HfTokenizer(loader);
    }

    /// <summary>The id of <paramref name="token"/> (an added token or a vocabulary entry, as written in the file), or null.</summary>
    public int? TokenToId(string token) => _tokenToId.TryGetValue(token, out int id) ? id : null;

    /// <summary>The token string of <paramref name="id"/> (as written in the file), or null when no token has it.</summary>
    public string? IdToToken(int id) => id >= 0 && id < _idToToken.Length ? _idToToken[id] : null;

    /// <summary>Whether <paramref name="id"/> is a special added token.</summary>
    public bool IsSpecial(int id) => _specialIds.Contains(id);

    /// <inheritdoc />
    /// <remarks>Special-token literals in the text (<c>&lt;|im_start|&gt;</c>) become their ids, as in Hugging Face.</remarks>
    public IReadOnlyList<int> Encode(string text) => Encode(text, addSpecialTokens: false);

    /// <summary>The ids of <paramref name="text"/>; with <paramref name="addSpecialTokens"/> the post-processor's tokens (Llama 3's BOS) are added, as by Hugging Face's <c>encode(text)</c>.</summary>
    public IReadOnlyList<int> Encode(string text, bool addSpecialTokens) => EncodeCore(text, addSpecialTokens, continuation: false);

    /// <inheritdoc />
    /// <remarks>Differs from <see cref="Encode(string)"/> only for tokenizers that add a prefix to the text (a Metaspace
    /// "first" scheme or a Prepend normalizer): the prefix is left out at the start.</remarks>
    public IReadOnlyList<int> EncodeContinuation(string text) => EncodeCore(text, addSpecialTokens: false, continuation: true);

    private List<int> EncodeCore(string text, bool addSpecialTokens, bool continuation)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = ReplaceLoneSurrogates(text);
        var output = new List<int>(text.Length / 3 + 4);
        if (addSpecialTokens) output.AddRange(_prefixIds);
        var sections = new List<(int Start, int End, int Id)>();
        var subsections = new List<(int Start, int End, int Id)>();
        var pieces = new List<string>();
        _rawTrie.Split(text, sections);
        for (int k = 0; k < sections.Count; k++)
        {
            var (s, e, id) = sections[k];
            if (id >= 0) { output.Add(id); continue; }
            string part = s == 0 && e == text.Length ? text : text[s..e];
            bool first = s == 0;
            string normalized = _normalizer?.Normalize(part, continuation && first) ?? part;
            if (normalized.Length == 0) continue;
            subsections.Clear();
            _normalizedTrie.Split(normalized, subsections);
            for (int j = 0; j < subsections.Count; j++)
            {
                var (ss, se, sid) = subsections[j];
                if (sid >= 0) { output.Add(sid); continue; }
                string sub = ss == 0 && se == normalized.Length ? normalized : normalized[ss..se];
                pieces.Clear();
                if (_preTokenizer is null) pieces.Add(sub);
                else _preTokenizer.Split(sub, first && ss == 0 && !continuation, pieces);
                foreach (var piece in pieces) _model.Encode(piece, _byteLevel, output);
            }
        }
        if (addSpecialTokens) output.AddRange(_suffixIds);
        return output;
    }

    /// <inheritdoc />
    /// <remarks>The exact text: special tokens kept, no clean-up of spaces (so <c>Decode(Encode(t)) == t</c> for
    /// byte-level tokenizers).</remarks>
    public string Decode(IEnumerable<int> ids) => Decode(ids, skipSpecialTokens: false, cleanUpTokenizationSpaces: false);

    /// <summary>The text of <paramref name="ids"/> with Hugging Face's decoding options.</summary>
    /// <param name="ids">The ids; each must have a token.</param>
    /// <param name="skipSpecialTokens">Leave out special added tokens (and the config's <c>additional_special_tokens</c>).</param>
    /// <param name="cleanUpTokenizationSpaces">Remove the space before <c>. ? ! ,</c> and contractions; null: <see cref="CleanUpTokenizationSpaces"/>.</param>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens, bool? cleanUpTokenizationSpaces = null)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var tokens = new List<string>();
        foreach (int id in ids)
        {
            string? token = id >= 0 && id < _idToToken.Length ? _idToToken[id] : null;
            if (token is null) throw new ArgumentOutOfRangeException(nameof(ids), id, $"no token has id {id} (the vocabulary holds ids below {VocabSize}).");
            if (skipSpecialTokens && _specialIds.Contains(id)) continue;
            tokens.Add(token);
        }
        string text = tokens.Count == 0 ? "" : _decoder is null ? string.Join(' ', tokens) : string.Concat(_decoder.DecodeChain(tokens));
        return cleanUpTokenizationSpaces ?? CleanUpTokenizationSpaces ? CleanUp(text) : text;
    }

    /// <summary>Hugging Face's <c>clean_up_tokenization</c>.</summary>
    private static string CleanUp(string text) => text
        .Replace(" .", ".", StringComparison.Ordinal).Replace(" ?", "?", StringComparison.Ordinal).Replace(" !", "!", StringComparison.Ordinal)
        .Replace(" ,", ",", StringComparison.Ordinal).Replace(" ' ", "'", StringComparison.Ordinal).Replace(" n't", "n't", StringComparison.Ordinal)
        .Replace(" 'm", "'m", StringComparison.Ordinal).Replace(" 's", "'s", StringComparison.Ordinal).Replace(" 've", "'ve", StringComparison.Ordinal)
        .Replace(" 're", "'re", StringComparison.Ordinal);

    private static string ReplaceLoneSurrogates(string text)
    {
        int i = 0;
        for (; i < text.Length; i++)
        {
            char c = text[i];
            if (!char.IsSurrogate(c)) continue;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
            break;
        }
        if (i >= text.Length) return text;
        var sb = new StringBuilder(text.Length);
        for (int k = 0; k < text.Length; k++)
        {
            char c = text[k];
            if (char.IsHighSurrogate(c) && k + 1 < text.Length && char.IsLowSurrogate(text[k + 1])) { sb.Append(c).Append(text[++k]); }
            else sb.Append(char.IsSurrogate(c) ? '\uFFFD' : c);
        }
        return sb.ToString();
    }

    /// <summary>Reads the two files into the tokenizer's parts.</summary>
    private sealed class Loader
    {
        public HfBpeModel? Model;
        public HfNormalizer? Normalizer;
        public HfPreTokenizer? PreTokenizer;
        public HfDecoder? Decoder;
        public string?[]? IdToToken;
        public Dictionary<string, int>? TokenToId;
        public HashSet<int> SpecialIds = [];
        public HfTokenTrie RawTrie = new();
        public HfTokenTrie NormalizedTrie = new();
        public int[] Prefix = [];
        public int[] Suffix = [];
        public List<HfAddedToken> Added = [];
        public int EosId;
        public int PadId;
        public bool CleanUp = true;
        private Dictionary<string, int> _vocab = new(StringComparer.Ordinal);
        private readonly Dictionary<int, string> _vocabById = new();

        public void Load(HfJson root, HfJson? config, string? eosOverride, string configName)
        {
            LoadModel(root.Required("model"));
            var added = root.Optional("added_tokens");
            if (added is { } a)
                foreach (var item in a.Items())
                {
                    int id = item.Required("id").Int(0, MaxTokenId);
                    string content = item.Required("content").String();
                    if (content.Length == 0) throw item.Required("content").Error("an added token cannot be empty.");
                    if (_vocabById.TryGetValue(id, out var other) && other != content)
                        throw item.Required("id").Error($"the added token {JsonQuote(content)} takes id {id}, which the vocabulary gives to {JsonQuote(other)}.");
                    if (Added.Find(t => t.Id == id && t.Content != content) is { } clash)
                        throw item.Required("id").Error($"the added tokens {JsonQuote(clash.Content)} and {JsonQuote(content)} share id {id}.");
                    bool special = item.OptionalBool("special", false);
                    Added.Add(new HfAddedToken(id, content, special, item.OptionalBool("single_word", false), item.OptionalBool("lstrip", false),
                        item.OptionalBool("rstrip", false), item.OptionalBool("normalized", !special)));
                }
            Normalizer = root.Optional("normalizer") is { } n ? ReadNormalizer(n) : null;
            PreTokenizer = root.Optional("pre_tokenizer") is { } p ? ReadPreTokenizer(p, isLastStep: true) : null;
            Decoder = root.Optional("decoder") is { } d ? ReadDecoder(d) : null;

            // Ids: the vocabulary, then the added tokens (which win for decoding and lookup).
            int maxId = -1;
            foreach (var id in _vocab.Values) maxId = Math.Max(maxId, id);
            foreach (var t in Added) maxId = Math.Max(maxId, t.Id);
            if (maxId < 0) throw root.Required("model").Error("the vocabulary is empty.");
            IdToToken = new string?[maxId + 1];
            foreach (var (token, id) in _vocab) IdToToken[id] = token;
            TokenToId = new Dictionary<string, int>(_vocab, StringComparer.Ordinal);
            foreach (var t in Added)
            {
                IdToToken[t.Id] = t.Content;
                TokenToId[t.Content] = t.Id;
                if (t.Special) SpecialIds.Add(t.Id);
            }

            // tokenizer_config.json: special tokens, add_bos_token, clean-up, split_special_tokens.
            string? bos = null, eos = null, pad = null, tokenizerClass = null;
            bool? addBos = null, addEos = null;
            bool splitSpecial = false;
            if (config is { } cfg)
            {
                bos = ConfigToken(cfg, "bos_token");
                eos = ConfigToken(cfg, "eos_token");
                pad = ConfigToken(cfg, "pad_token");
                tokenizerClass = cfg.OptionalString("tokenizer_class");
                addBos = cfg.Optional("add_bos_token")?.Bool();
                addEos = cfg.Optional("add_eos_token")?.Bool();
                CleanUp = cfg.OptionalBool("clean_up_tokenization_spaces", true);
                splitSpecial = cfg.OptionalBool("split_special_tokens", false);
                if (cfg.Optional("additional_special_tokens") is { } extra)
                    foreach (var item in extra.Items())
                    {
                        string token = item.Kind == JsonValueKind.Object ? item.Required("content").String() : item.String();
                        if (TokenToId.TryGetValue(token, out int id)) SpecialIds.Add(id);
                    }
            }
            eos = eosOverride ?? eos;
            if (eos is null)
                throw new TokenizerFileException(config is null ? configName + " (not given)" : configName, "$.eos_token",
                    "no EOS token: the config names none. Give tokenizer_config.json with eos_token, or the eosToken argument.");
            EosId = ResolveToken(eos, configName, "$.eos_token");
            PadId = pad is null ? EosId : ResolveToken(pad, configName, "$.pad_token");

            // Special tokens around a single text: the post-processor, or Llama/Gemma's add_bos_token/add_eos_token.
            if (tokenizerClass is not null && LlamaLikeClasses.Contains(tokenizerClass) && (addBos is not null || addEos is not null || bos is not null))
            {
                Prefix = addBos ?? true ? bos is null ? [] : [ResolveToken(bos, configName, "$.bos_token")] : [];
                Suffix = addEos ?? false ? [EosId] : [];
            }
            else if (root.Optional("post_processor") is { } pp)
                (Prefix, Suffix) = ReadPostProcessor(pp);

            // Added tokens recognised in text: raw ones before normalisation, normalised ones after.
            foreach (var t in Added)
            {
                if (splitSpecial && t.Special) continue;
                if (t.Normalized && Normalizer is not null)
                {
                    string content = Normalizer.Normalize(t.Content, continuation: true);
                    if (content.Length > 0) NormalizedTrie.Add(content, t);
                }
                else RawTrie.Add(t.Content, t);
            }
        }

        private static string? ConfigToken(HfJson cfg, string name)
        {
            var v = cfg.Optional(name);
            if (v is null) return null;
            return v.Value.Kind == JsonValueKind.Object ? v.Value.Required("content").String() : v.Value.String();
        }

        private int ResolveToken(string token, string file, string path) =>
            TokenToId!.TryGetValue(token, out int id) ? id
                : throw new TokenizerFileException(file, path, $"the token \"{token}\" is neither an added token nor in the vocabulary of tokenizer.json.");

        private void LoadModel(HfJson model)
        {
            model.Object();
            string type = model.OptionalString("type") ?? (model.Optional("merges") is not null ? "BPE" : throw model.Error("the model has no \"type\"."));
            if (type != "BPE")
                throw model.Required("type").Error($"unsupported model \"{type}\": only BPE is supported (WordPiece, WordLevel and Unigram are not).");
            if (model.Optional("dropout") is { } dropout && dropout.Number() != 0)
                throw dropout.Error("BPE dropout is random at encoding time; only null or 0 is supported.");
            foreach (var name in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
                if (model.OptionalString(name) is { Length: > 0 } affix)
                    throw model.Required(name).Error($"\"{affix}\": a non-empty {name} is not supported.");
            var vocab = model.Required("vocab");
            var byId = _vocabById;
            foreach (var (token, value) in vocab.Properties())
            {
                int id = value.Int(0, MaxTokenId);
                if (!_vocab.TryAdd(token, id)) throw value.Error($"the token {JsonQuote(token)} is listed twice in the vocabulary.");
                if (!byId.TryAdd(id, token))
                    throw value.Error($"id {id} is given to both {JsonQuote(byId[id])} and {JsonQuote(token)}; each id must name one token.");
            }

            var merges = new Dictionary<long, (int Rank, int NewId)>();
            var list = model.Required("merges");
            int rank = 0;
            foreach (var item in list.Items())
            {
                string left, right;
                if (item.Kind == JsonValueKind.String)
                {
                    string line = item.String();
                    int space = line.IndexOf(' ', StringComparison.Ordinal);
                    if (space <= 0 || space == line.Length - 1 || line.IndexOf(' ', space + 1) >= 0)
                        throw item.Error($"a merge must be two tokens separated by one space, found \"{line}\".");
                    left = line[..space];
                    right = line[(space + 1)..];
                }
                else
                {
                    var parts = item.Items().ToList();
                    if (parts.Count != 2) throw item.Error($"a merge must be a pair of tokens, found {parts.Count} items.");
                    left = parts[0].String();
                    right = parts[1].String();
                }
                if (!_vocab.TryGetValue(left, out int a)) throw item.Error($"the merge's first token \"{left}\" is not in the vocabulary.");
                if (!_vocab.TryGetValue(right, out int b)) throw item.Error($"the merge's second token \"{right}\" is not in the vocabulary.");
                if (!_vocab.TryGetValue(left + right, out int merged)) throw item.Error($"the merged token \"{left + right}\" is not in the vocabulary.");
                merges[HfBpeModel.Key(a, b)] = (rank++, merged);
            }
            int unk = -1;
            if (model.OptionalString("unk_token") is { } unkToken)
                unk = _vocab.TryGetValue(unkToken, out int u) ? u : throw model.Required("unk_token").Error($"the unknown token \"{unkToken}\" is not in the vocabulary.");
            Model = new HfBpeModel(_vocab, merges, unk, model.OptionalBool("fuse_unk", false), model.OptionalBool("byte_fallback", false), model.OptionalBool("ignore_merges", false));
        }

        private static Regex MakeRegex(HfJson pattern)
        {
            string source = pattern.String();
            try
            {
                return new Regex(source, RegexOptions.CultureInvariant, RegexTimeout);
            }
            catch (ArgumentException e)
            {
                throw pattern.Error($"the regular expression cannot be compiled by .NET: {e.Message}", e);
            }
        }

        /// <summary>A pattern object: <c>{"String": s}</c> or <c>{"Regex": r}</c>.</summary>
        private static (string? Literal, HfJson? Regex) ReadPattern(HfJson pattern)
        {
            if (pattern.Optional("String") is { } s) return (s.String(), null);
            if (pattern.Optional("Regex") is { } r) { r.String(); return (null, r); }
            throw pattern.Error("a pattern must hold \"String\" or \"Regex\".");
        }

        private HfNormalizer ReadNormalizer(HfJson n)
        {
            string type = n.Type();
            switch (type)
            {
                case "NFC": return new HfUnicodeNormalizer(NormalizationForm.FormC);
                case "NFD": return new HfUnicodeNormalizer(NormalizationForm.FormD);
                case "NFKC": return new HfUnicodeNormalizer(NormalizationForm.FormKC);
                case "NFKD": return new HfUnicodeNormalizer(NormalizationForm.FormKD);
                case "Lowercase": return new HfLowercaseNormalizer();
                case "Strip": return new HfStripNormalizer(n.OptionalBool("strip_left", true), n.OptionalBool("strip_right", true));
                case "Prepend": return new HfPrependNormalizer(n.Required("prepend").String());
                case "Replace": return ReadReplace(n);
                case "Sequence": return new HfSequenceNormalizer(n.Required("normalizers").Items().Select(ReadNormalizer).ToList());
                default:
                    throw n.Required("type").Error($"unsupported normalizer \"{type}\" (supported: NFC, NFD, NFKC, NFKD, Lowercase, Strip, Prepend, Replace, Sequence).");
            }
        }

        private static HfReplaceNormalizer ReadReplace(HfJson n)
        {
            var (literal, regex) = ReadPattern(n.Required("pattern"));
            return new HfReplaceNormalizer(literal, regex is { } r ? MakeRegex(r) : null, n.Required("content").String());
        }

        private HfPreTokenizer ReadPreTokenizer(HfJson p, bool isLastStep)
        {
            string type = p.Type();
            switch (type)
            {
                case "Split":
                {
                    var patternNode = p.Required("pattern");
                    var (literal, regex) = ReadPattern(patternNode);
                    IHfMatcher matcher = literal is not null ? new HfLiteralMatcher(literal)
                        : (IHfMatcher?)HfKnownPatternMatcher.TryCreate(regex!.Value.String()) ?? new HfRegexMatcher(MakeRegex(regex.Value));
                    var behaviorNode = p.Required("behavior");
                    string behavior = behaviorNode.String();
                    var b = behavior switch
                    {
                        "Removed" => HfSplitBehavior.Removed,
                        "Isolated" => HfSplitBehavior.Isolated,
                        "MergedWithPrevious" => HfSplitBehavior.MergedWithPrevious,
                        "MergedWithNext" => HfSplitBehavior.MergedWithNext,
                        "Contiguous" => HfSplitBehavior.Contiguous,
                        _ => throw behaviorNode.Error($"unknown split behavior \"{behavior}\" (Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous)."),
                    };
                    return new HfSplitPreTokenizer(matcher, b, p.OptionalBool("invert", false));
                }
                case "ByteLevel":
                    if (!isLastStep) throw p.Required("type").Error("a ByteLevel pre-tokenizer is supported only as the last step (its pieces are bytes for the model).");
                    return new HfByteLevelPreTokenizer(p.OptionalBool("add_prefix_space", true), p.OptionalBool("use_regex", true));
                case "Metaspace":
                {
                    string replacement = p.Required("replacement").String();
                    if (replacement.Length != 1) throw p.Required("replacement").Error("the replacement must be one character.");
                    string scheme = p.OptionalString("prepend_scheme") ?? (p.OptionalBool("add_prefix_space", true) ? "always" : "never");
                    if (scheme is not ("always" or "first" or "never")) throw p.Required("prepend_scheme").Error($"unknown prepend_scheme \"{scheme}\" (always, first, never).");
                    return new HfMetaspacePreTokenizer(replacement[0], scheme, p.OptionalBool("split", true));
                }
                case "Sequence":
                {
                    var items = p.Required("pretokenizers").Items().ToList();
                    return new HfSequencePreTokenizer(items.Select((item, k) => ReadPreTokenizer(item, isLastStep && k == items.Count - 1)).ToList());
                }
                default:
                    throw p.Required("type").Error($"unsupported pre-tokenizer \"{type}\" (supported: Split, ByteLevel, Metaspace, Sequence).");
            }
        }

        private HfDecoder ReadDecoder(HfJson d)
        {
            string type = d.Type();
            switch (type)
            {
                case "ByteLevel": return new HfByteLevelDecoder();
                case "Replace": return new HfReplaceDecoder(ReadReplace(d));
                case "ByteFallback": return new HfByteFallbackDecoder();
                case "Fuse": return new HfFuseDecoder();
                case "Strip":
                {
                    string content = d.Required("content").String();
                    if (content.Length != 1) throw d.Required("content").Error("the stripped content must be one character.");
                    return new HfStripDecoder(content[0], d.Required("start").Int(0, int.MaxValue), d.Required("stop").Int(0, int.MaxValue));
                }
                case "Metaspace":
                {
                    string replacement = d.Required("replacement").String();
                    if (replacement.Length != 1) throw d.Required("replacement").Error("the replacement must be one character.");
                    string scheme = d.OptionalString("prepend_scheme") ?? (d.OptionalBool("add_prefix_space", true) ? "always" : "never");
                    return new HfMetaspaceDecoder(replacement[0], scheme);
                }
                case "Sequence": return new HfSequenceDecoder(d.Required("decoders").Items().Select(ReadDecoder).ToList());
                default:
                    throw d.Required("type").Error($"unsupported decoder \"{type}\" (supported: ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence).");
            }
        }

        /// <summary>The ids a post-processor puts before and after a single text.</summary>
        private (int[] Prefix, int[] Suffix) ReadPostProcessor(HfJson p)
        {
            string type = p.Type();
            switch (type)
            {
                case "ByteLevel": return ([], []);
                case "Sequence":
                {
                    var prefix = new List<int>();
                    var suffix = new List<int>();
                    foreach (var item in p.Required("processors").Items())
                    {
                        var (pre, suf) = ReadPostProcessor(item);
                        prefix.InsertRange(0, pre);
                        suffix.AddRange(suf);
                    }
                    return (prefix.ToArray(), suffix.ToArray());
                }
                case "RobertaProcessing":
                case "BertProcessing":
                    return ([PairId(p.Required("cls"))], [PairId(p.Required("sep"))]);
                case "TemplateProcessing":
                {
                    var specials = p.Required("special_tokens");
                    var prefix = new List<int>();
                    var suffix = new List<int>();
                    bool seenA = false;
                    foreach (var item in p.Required("single").Items())
                    {
                        if (item.Optional("Sequence") is { } seq)
                        {
                            string which = seq.Required("id").String();
                            if (which != "A" || seenA) throw seq.Required("id").Error($"a single-text template must hold sequence A once, found \"{which}\".");
                            seenA = true;
                        }
                        else if (item.Optional("SpecialToken") is { } st)
                        {
                            var idNode = st.Required("id");
                            string name = idNode.String();
                            var entry = specials.Optional(name) ?? throw idNode.Error($"the special token \"{name}\" is not in special_tokens.");
                            foreach (var idItem in entry.Required("ids").Items())
                            {
                                int id = idItem.Int(0, MaxTokenId);
                                if (id >= IdToToken!.Length || IdToToken[id] is null) throw idItem.Error($"no token has id {id}.");
                                (seenA ? suffix : prefix).Add(id);
                            }
                        }
                        else throw item.Error("a template item must be a Sequence or a SpecialToken.");
                    }
                    if (!seenA) throw p.Required("single").Error("the single-text template has no sequence A.");
                    return (prefix.ToArray(), suffix.ToArray());
                }
                default:
                    throw p.Required("type").Error($"unsupported post-processor \"{type}\" (supported: TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing, Sequence).");
            }
        }

        /// <summary>A <c>["token", id]</c> pair of Roberta/Bert processing.</summary>
        private int PairId(HfJson pair)
        {
            var items = pair.Items().ToList();
            if (items.Count != 2) throw pair.Error("expected [token, id].");
            int id = items[1].Int(0, MaxTokenId);
            if (id >= IdToToken!.Length || IdToToken[id] is null) throw items[1].Error($"no token has id {id}.");
            return id;
        }
    }

    private static string JsonQuote(string text) => System.Text.Json.JsonSerializer.Serialize(text);
}
