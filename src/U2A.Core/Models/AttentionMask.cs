using static TorchSharp.torch;

namespace U2A.Core.Models;

/// <summary>The attention mask of one forward: [B, 1, T, S + T], true where the query may attend to the key when
/// <paramref name="Fused"/> (the fused kernel's convention), true where it may not otherwise (the explicit kernel's).</summary>
/// <param name="Mask">The boolean mask.</param>
/// <param name="Fused">Whether the forward is forward-only and uses the fused kernel.</param>
internal sealed record AttentionMask(Tensor Mask, bool Fused);
