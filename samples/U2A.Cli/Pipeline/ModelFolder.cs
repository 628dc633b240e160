using System.Text.Json;
using U2A.Core.Models.Checkpoints;
using U2A.Core.Tokenization;
using static TorchSharp.torch;

namespace U2A.Cli.Pipeline;

/// <summary>A Hugging Face model folder: its model (config.json + safetensors) and its tokenizer.</summary>
public static class ModelFolder
{
    /// <summary>Loads the model of <paramref name="directory"/> in float32 on <paramref name="device"/>.</summary>
    /// <exception cref="UsageException">The folder does not exist.</exception>
    public static IHfCheckpointModel LoadModel(string directory, Device device, string option = "--model")
    {
        if (!Directory.Exists(directory)) throw new UsageException(option, $"the model folder '{directory}' does not exist.");
        if (!File.Exists(Path.Combine(directory, "config.json")))
            throw new UsageException(option, $"the model folder '{directory}' has no config.json (a Hugging Face model folder holds config.json and model.safetensors).");
        return CausalLMLoader.FromPretrained(directory, device);
    }

    /// <summary>
    /// The tokenizer of a model folder. The one place the CLI chooses a tokenizer: today <c>vocab.json</c> + <c>merges.txt</c>
    /// (byte-level BPE, EOS / BOS / pad from <c>tokenizer_config.json</c> or <c>special_tokens_map.json</c>, else
    /// <c>&lt;|endoftext|&gt;</c>) or a SentencePiece <c>tokenizer.model</c>. A <c>tokenizer.json</c>-only folder is refused
    /// until the library's tokenizer.json loader replaces this function's body.
    /// </summary>
    /// <exception cref="UsageException">The folder holds no tokenizer this function can read.</exception>
    public static ITextTokenizer LoadTokenizer(string directory, string option = "--model")
    {
        string vocab = Path.Combine(directory, "vocab.json"), merges = Path.Combine(directory, "merges.txt");
        if (File.Exists(vocab) && File.Exists(merges))
        {
            var special = SpecialTokens(directory);
            return MlTokenizer.FromBpe(vocab, merges, special.GetValueOrDefault("eos_token") ?? "<|endoftext|>",
                special.GetValueOrDefault("bos_token"), special.GetValueOrDefault("pad_token"));
        }
        string sentencePiece = Path.Combine(directory, "tokenizer.model");
        if (File.Exists(sentencePiece)) return MlTokenizer.FromSentencePiece(sentencePiece);
        string hint = File.Exists(Path.Combine(directory, "tokenizer.json"))
            ? " It holds tokenizer.json, which this version cannot read yet."
            : "";
        throw new UsageException(option, $"the model folder '{directory}' holds no tokenizer this tool reads (vocab.json + merges.txt, or tokenizer.model).{hint}");
    }

    /// <summary>eos_token, bos_token and pad_token from tokenizer_config.json, else special_tokens_map.json (string or {"content": ...}).</summary>
    private static Dictionary<string, string?> SpecialTokens(string directory)
    {
        var result = new Dictionary<string, string?>();
        foreach (var file in new[] { "tokenizer_config.json", "special_tokens_map.json" })
        {
            string path = Path.Combine(directory, file);
            if (!File.Exists(path)) continue;
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            foreach (var key in new[] { "eos_token", "bos_token", "pad_token" })
            {
                if (result.ContainsKey(key) || !doc.RootElement.TryGetProperty(key, out var value)) continue;
                result[key] = value.ValueKind switch
                {
                    JsonValueKind.String => value.GetString(),
                    JsonValueKind.Object when value.TryGetProperty("content", out var c) => c.GetString(),
                    _ => null,
                };
            }
        }
        return result;
    }
}
