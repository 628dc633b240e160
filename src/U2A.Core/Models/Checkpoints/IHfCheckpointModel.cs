namespace U2A.Core.Models.Checkpoints;

/// <summary>A causal LM that maps its parameters to the tensors of a Hugging Face checkpoint.</summary>
public interface IHfCheckpointModel : ICausalLM
{
    /// <summary>The model's configuration (written as <c>config.json</c>).</summary>
    IHfModelConfig Config { get; }

    /// <summary>Every parameter with its checkpoint name, in a fixed order.</summary>
    IReadOnlyList<HfTensorBinding> HfTensors { get; }

    /// <summary>The binding name a checkpoint tensor name loads into, or null when the tensor is to be skipped
    /// (constant buffers such as GPT-2's causal masks, or a copy of tied embeddings). Unknown names are returned as they are.</summary>
    string? MapCheckpointKey(string checkpointKey);
}
