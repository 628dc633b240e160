using System.Text.Json.Nodes;

namespace U2A.Core.Models.Checkpoints;

/// <summary>A model configuration that reads from and writes to a Hugging Face <c>config.json</c>.</summary>
public interface IHfModelConfig
{
    /// <summary>The Hugging Face <c>model_type</c> (gpt2, llama, qwen2).</summary>
    string ModelType { get; }

    /// <summary>The configuration as a Hugging Face <c>config.json</c> object.</summary>
    JsonObject ToHfJson();
}
