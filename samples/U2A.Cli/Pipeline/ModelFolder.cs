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
    /// The tokenizer of a model folder: the library's <see cref="TokenizerLoader.FromFolder"/>, which reads <c>tokenizer.json</c>,
    /// else <c>tokenizer.model</c> (SentencePiece), else <c>vocab.json</c> + <c>merges.txt</c>, with BOS / EOS / pad from
    /// <c>tokenizer_config.json</c>.
    /// </summary>
    /// <exception cref="UsageException">The folder holds no tokenizer the library reads, or its tokenizer file is malformed.</exception>
    public static ITextTokenizer LoadTokenizer(string directory, string option = "--model")
    {
        try
        {
            return TokenizerLoader.FromFolder(directory);
        }
        catch (Exception e) when (e is TokenizerFileException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException or ArgumentException)
        {
            throw new UsageException(option, $"the tokenizer of the model folder '{directory}' cannot be read: {e.Message}");
        }
    }

    /// <summary>The folder's chat format, recognised from the <c>chat_template</c> of its <c>tokenizer_config.json</c>.</summary>
    /// <exception cref="UsageException">No config, no template, or a template this version does not recognise (the message says how to supply one).</exception>
    public static ChatFormat LoadChatFormat(string directory, string option = "--template")
    {
        try
        {
            return ChatTemplate.Load(directory);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or InvalidDataException or ArgumentException)
        {
            throw new UsageException(option, $"'--template model' needs the chat template of '{directory}': {e.Message}");
        }
    }
}
