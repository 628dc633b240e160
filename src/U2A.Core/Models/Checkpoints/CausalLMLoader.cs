using U2A.Core.Models.Gpt2;
using U2A.Core.Models.Llama;
using static TorchSharp.torch;

namespace U2A.Core.Models.Checkpoints;

/// <summary>Creates causal LMs from Hugging Face checkpoint directories and saves them back in that layout.</summary>
public static class CausalLMLoader
{
    /// <summary>
    /// Reads <c>config.json</c> in <paramref name="directory"/>, builds the model it describes (GPT-2, Llama or Qwen2) on
    /// <paramref name="device"/> (CPU when null) in <paramref name="dtype"/>, and loads the checkpoint's weights into it
    /// (float32 or bfloat16 checkpoints, single-file or sharded). All parameters are trainable. The returned model also
    /// implements <see cref="Generation.ICachedCausalLM"/>.
    /// </summary>
    public static IHfCheckpointModel FromPretrained(string directory, Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        HfCheckpoint.RecoverInterruptedSave(directory); // before config.json is read: an interrupted save may be finished here
        var config = HfConfig.Read(directory);
        IHfCheckpointModel model = Create(config, device, dtype, seed: null);
        try
        {
            HfCheckpoint.LoadInto(model, directory);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Creates a model for <paramref name="config"/> with seeded random weights (the Hugging Face initialisation: normal(0, initializer_range)).</summary>
    public static IHfCheckpointModel Create(IHfModelConfig config, Device? device = null, ScalarType dtype = ScalarType.Float32, long? seed = 0) => config switch
    {
        Gpt2Config g => new Gpt2LM(g, device, dtype, seed),
        LlamaConfig l => new LlamaLM(l, device, dtype, seed),
        _ => throw new NotSupportedException($"model_type '{config.ModelType}' has no implementation."),
    };

    /// <summary>Writes <paramref name="model"/> as <c>config.json</c> + <c>model.safetensors</c> (see <see cref="HfCheckpoint.Save"/>).</summary>
    public static void SavePretrained(IHfCheckpointModel model, string directory, ScalarType? dtype = null, long maxShardBytes = 0) =>
        HfCheckpoint.Save(model, directory, dtype, maxShardBytes);
}
