using static TorchSharp.torch;

namespace U2A.Core.Models;

/// <summary>
/// The attention pieces shared by the transformer models: positions counted over real tokens, the causal padding mask,
/// and attention itself: explicit matmul-softmax attention (which, unlike the fused kernels, supports double backward)
/// when autograd records, and libtorch's fused <c>scaled_dot_product_attention</c> on forward-only passes (gradient
/// recording off: finite-difference scoring, evaluation, generation), where no derivative of any order is taken.
/// </summary>
internal static class CausalAttention
{
    /// <summary>Positions [B, T] of the last <paramref name="newTokens"/> columns of <paramref name="attentionMask"/> [B, S + T]:
    /// the number of real tokens before each one, so left and right padding give the same positions to real tokens.</summary>
    public static Tensor Positions(Tensor attentionMask, long newTokens)
    {
        long total = attentionMask.shape[1];
        ValidateMask(attentionMask, newTokens);
        return attentionMask.cumsum(1).sub(1).clamp_min(0)[.., (int)(total - newTokens)..];
    }

    /// <summary>
    /// Mask [B, 1, T, S + T], true where the query (one of the last T positions) may not attend to the key: keys after the
    /// query and padding keys. A query always attends to itself, so no softmax row is empty (an all -inf row gives NaN).
    /// </summary>
    public static Tensor Forbidden(Tensor attentionMask, long newTokens)
    {
        ValidateMask(attentionMask, newTokens);
        long total = attentionMask.shape[1], past = total - newTokens;
        var device = attentionMask.device;
        var query = arange(past, total, dtype: ScalarType.Int64, device: device).unsqueeze(1);
        var key = arange(0, total, dtype: ScalarType.Int64, device: device).unsqueeze(0);
        var allowed = (key.le(query).unsqueeze(0) & attentionMask.to_type(ScalarType.Bool).unsqueeze(1)) | key.eq(query).unsqueeze(0);
        return allowed.logical_not().unsqueeze(1);
    }

    /// <summary>
    /// The mask of one forward in the form its kernel takes: for a forward-only pass (gradient recording off) the fused
    /// kernel's "may attend" mask, otherwise <see cref="Forbidden"/> for the explicit kernel. Built once per forward and
    /// shared by every layer. <see cref="AttentionKernel.Explicit"/> always gives the explicit kernel's mask.
    /// </summary>
    public static AttentionMask ForForward(Tensor attentionMask, long newTokens, AttentionKernel kernel = AttentionKernel.Auto)
    {
        var forbidden = Forbidden(attentionMask, newTokens);
        if (kernel == AttentionKernel.Explicit || is_grad_enabled()) return new AttentionMask(forbidden, Fused: false);
        return new AttentionMask(forbidden.logical_not(), Fused: true);
    }

    /// <summary>softmax(q k^T / sqrt(D) masked) v for q [B, H, T, D] and k, v [B, H, S, D], by the kernel the mask was
    /// built for (<see cref="ForForward"/>).</summary>
    public static Tensor Attend(Tensor q, Tensor k, Tensor v, AttentionMask mask) =>
        mask.Fused ? nn.functional.scaled_dot_product_attention(q, k, v, mask.Mask) : Attend(q, k, v, mask.Mask);

    /// <summary>softmax(q k^T / sqrt(D) masked) v for q [B, H, T, D] and k, v [B, H, S, D], explicitly (double backward
    /// works); half-precision scores are normalised in float32, as Hugging Face's eager attention does.</summary>
    public static Tensor Attend(Tensor q, Tensor k, Tensor v, Tensor forbidden)
    {
        var scores = q.matmul(k.transpose(-2, -1)).mul(1.0 / Math.Sqrt(q.shape[^1])).masked_fill(forbidden, double.NegativeInfinity);
        var weights = q.dtype is ScalarType.BFloat16 or ScalarType.Float16
            ? scores.softmax(-1, ScalarType.Float32).to_type(q.dtype)
            : scores.softmax(-1);
        return weights.matmul(v);
    }

    /// <summary>Repeats each of the H_kv key/value heads [B, H_kv, S, D] <paramref name="groups"/> times: [B, H_kv * groups, S, D].</summary>
    public static Tensor RepeatKv(Tensor x, long groups)
    {
        if (groups == 1) return x;
        long b = x.shape[0], h = x.shape[1], s = x.shape[2], d = x.shape[3];
        return x.unsqueeze(2).expand(b, h, groups, s, d).reshape(b, h * groups, s, d);
    }

    private static void ValidateMask(Tensor attentionMask, long newTokens)
    {
        if (attentionMask.dim() != 2 || attentionMask.shape[1] < newTokens)
            throw new ArgumentException($"attentionMask must have shape [B, S + {newTokens}], got [{string.Join(", ", attentionMask.shape)}].", nameof(attentionMask));
    }
}
