namespace U2A.Core.Models;

/// <summary>Which attention kernel a model's forward uses.</summary>
public enum AttentionKernel
{
    /// <summary>libtorch's fused <c>scaled_dot_product_attention</c> on forward-only passes (gradient recording off),
    /// the explicit matmul-softmax attention otherwise (it supports the double backward of exact influence scoring and
    /// Hessian-vector products, which the fused kernels do not). The default.</summary>
    Auto,

    /// <summary>The explicit matmul-softmax attention always (for parity checks and for timing the fused kernel's gain).</summary>
    Explicit,
}
