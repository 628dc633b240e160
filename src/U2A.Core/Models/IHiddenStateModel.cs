using static TorchSharp.torch;

namespace U2A.Core.Models;

/// <summary>
/// A causal LM that exposes its final hidden states (after the last norm, before the LM head): the backbone a
/// reward model puts a scalar head on.
/// </summary>
public interface IHiddenStateModel : ICausalLM
{
    /// <summary>Width H of the hidden states.</summary>
    int HiddenSize { get; }

    /// <summary>Final hidden states [B, T, H] for token ids [B, T] and an attention mask of the same shape.</summary>
    Tensor HiddenStates(Tensor inputIds, Tensor attentionMask);
}
