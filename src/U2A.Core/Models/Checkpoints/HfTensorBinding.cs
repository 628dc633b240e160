using TorchSharp.Modules;

namespace U2A.Core.Models.Checkpoints;

/// <summary>One model parameter and the name (and layout) of its tensor in a Hugging Face checkpoint.</summary>
/// <param name="Name">The Hugging Face tensor name, e.g. <c>model.layers.0.self_attn.q_proj.weight</c>.</param>
/// <param name="Parameter">The model's parameter.</param>
/// <param name="Transposed">True when the checkpoint stores the transpose of the parameter (GPT-2's <c>Conv1D</c> weights, [in, out]).</param>
public sealed record HfTensorBinding(string Name, Parameter Parameter, bool Transposed);
