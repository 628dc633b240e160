using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace U2A.Core.Tokenization;

/// <summary>Loads the tokenizer of a Hugging Face model folder in one call, whichever format the folder holds.</summary>
public static class TokenizerLoader
{
    /// <summary>
    /// The tokenizer of the model folder <paramref name="directory"/>, from the first of: <c>tokenizer.json</c>
    /// (<see cref="HfTokenizer"/>), <c>tokenizer.model</c> (SentencePiece, <see cref="MlTokenizer.FromSentencePiece(string)"/>),
    /// or <c>vocab.json</c> + <c>merges.txt</c> (byte-level BPE, <see cref="MlTokenizer.FromBpe(string, string, string, string?, string?, bool, string?)"/>).
    /// <c>tokenizer_config.json</c>, when present, gives the BOS, EOS and pad tokens and <c>add_bos_token</c>.
    /// </summary>
    /// <param name="directory">The model folder.</param>
    /// <param name="eosToken">The EOS token, when the config names none (or to override it).</param>
    /// <remarks>
    /// For SentencePiece, BOS and EOS default to the model's and <c>add_bos_token: false</c> leaves BOS out
    /// (<see cref="ITextTokenizer.BosId"/> null). For vocab + merges, BOS is used only with <c>add_bos_token: true</c>
    /// (as transformers' GPT-2 tokenizer), and EOS defaults to <c>&lt;|endoftext|&gt;</c> when the config names none.
    /// </remarks>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">The folder holds none of the three formats.</exception>
    /// <exception cref="TokenizerFileException">A tokenizer file or the config is malformed or unsupported.</exception>
    public static ITextTokenizer FromFolder(string directory, string? eosToken = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"the model folder {directory} does not exist.");
        string config = Path.Combine(directory, "tokenizer_config.json");
        string? configPath = File.Exists(config) ? config : null;

        string json = Path.Combine(directory, "tokenizer.json");
        if (File.Exists(json)) return HfTokenizer.FromFile(json, configPath, eosToken);

        var settings = configPath is null ? new ConfigTokens(null, null, null, null) : ReadConfig(configPath);
        string model = Path.Combine(directory, "tokenizer.model");
        if (File.Exists(model))
        {
            var sp = MlTokenizer.FromSentencePiece(model);
            var vocab = ((SentencePieceTokenizer)sp.Inner).Vocabulary;
            int Id(string token, string field) => vocab.TryGetValue(token, out int id) ? id
                : throw new TokenizerFileException(configPath!, $"$.{field}", $"the token \"{token}\" is not in {model}.");
            int eos = (eosToken ?? settings.Eos) is { } e ? Id(e, "eos_token") : sp.EosId;
            int? bos = settings.AddBos == false ? null : settings.Bos is { } b ? Id(b, "bos_token") : sp.BosId;
            int pad = settings.Pad is { } p ? Id(p, "pad_token") : eos;
            return new MlTokenizer(sp.Inner, sp.VocabSize, bos, eos, pad);
        }

        string vocabJson = Path.Combine(directory, "vocab.json"), merges = Path.Combine(directory, "merges.txt");
        if (File.Exists(vocabJson) && File.Exists(merges))
            return MlTokenizer.FromBpe(vocabJson, merges, eosToken ?? settings.Eos ?? "<|endoftext|>",
                bosToken: settings.AddBos == true ? settings.Bos : null, padToken: settings.Pad);

        throw new FileNotFoundException($"the model folder {directory} holds no tokenizer: expected tokenizer.json, tokenizer.model, or vocab.json with merges.txt.");
    }

    private sealed record ConfigTokens(string? Bos, string? Eos, string? Pad, bool? AddBos);

    private static ConfigTokens ReadConfig(string path)
    {
        using var doc = HfJson.Parse(HfJson.ReadFile(path, HfTokenizer.MaxTokenizerConfigBytes), path, HfTokenizer.MaxTokenizerConfigBytes);
        var root = new HfJson(doc.RootElement, path, "$");
        string? Token(string name) => root.Optional(name) is not { } v ? null
            : v.Kind == JsonValueKind.Object ? v.Required("content").String() : v.String();
        return new ConfigTokens(Token("bos_token"), Token("eos_token"), Token("pad_token"), root.Optional("add_bos_token")?.Bool());
    }
}
