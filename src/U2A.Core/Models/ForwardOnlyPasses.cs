using U2A.Core.Models.Lora;
using static TorchSharp.torch;

namespace U2A.Core.Models;

/// <summary>The scope the library opens around its forward-only passes (finite-difference scoring, evaluation,
/// generation), for applications to open around theirs too: <see cref="LoraModel.ForwardOnly"/> for a LoRA model
/// (adapters merged once for the scope), otherwise gradient recording off. With recording off the library's models use
/// the fused attention kernel.</summary>
public static class ForwardOnlyPasses
{
    /// <summary>Opens the forward-only scope of <paramref name="model"/>; dispose it to end the scope.</summary>
    public static IDisposable Enter(ICausalLM model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model is LoraModel lora ? lora.ForwardOnly() : no_grad();
    }
}
