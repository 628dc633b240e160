using U2A.Core.Models.Lora;
using static TorchSharp.torch;

namespace U2A.Core.Models;

/// <summary>The scope the library opens around its forward-only passes (finite-difference scoring, evaluation,
/// generation): <see cref="LoraModel.ForwardOnly"/> for a LoRA model (adapters merged once for the scope), otherwise
/// gradient recording off. With recording off the models use the fused attention kernel.</summary>
internal static class ForwardOnlyPasses
{
    public static IDisposable Enter(ICausalLM model) => model is LoraModel lora ? lora.ForwardOnly() : no_grad();
}
