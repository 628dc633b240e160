using TorchSharp.Modules;
using static TorchSharp.torch;

namespace U2A.Core.Models;

/// <summary>
/// The causal language model contract every part of U2A.Core depends on: token ids and an attention mask in,
/// next-token logits out, and an explicit, ordered list of trainable parameters.
/// </summary>
/// <remarks>
/// Gradients, Hessian-vector products, influence directions and checkpoints all use
/// <see cref="TrainableParameters"/> in that order. Implementations update parameters in place, so an
/// optimizer or an influence estimator may perturb and restore them.
/// </remarks>
public interface ICausalLM : IDisposable
{
    /// <summary>Logits [B, T, V] for token ids [B, T] (int64) and an attention mask [B, T] (1 real, 0 padding).
    /// The logits at position t predict the token at position t + 1.</summary>
    Tensor Forward(Tensor inputIds, Tensor attentionMask);

    /// <summary>The parameters that training and influence computations differentiate (all weights, or LoRA adapters only), in a fixed order.</summary>
    IReadOnlyList<Parameter> TrainableParameters { get; }

    /// <summary>The device of the model's parameters; every tensor the library creates for this model goes there.</summary>
    Device Device { get; }

    /// <summary>The floating-point dtype of the parameters.</summary>
    ScalarType DType { get; }

    /// <summary>Vocabulary size V.</summary>
    int VocabularySize { get; }

    /// <summary>Puts dropout and similar layers in training (true) or evaluation (false) mode.</summary>
    void SetTraining(bool training);
}
