namespace U2A.Core.Influence;

/// <summary>How the influence scores <c>s_i = &lt;grad l_i, v&gt;</c> of all candidates are computed.</summary>
public enum ScoringMethod
{
    /// <summary>One backward pass per candidate (batch size 1): the exact reference, as in the U2A reference code.</summary>
    PerExampleLoop,
    /// <summary>
    /// Batched exact directional derivative by the double-VJP trick: with a dummy <c>u</c>,
    /// <c>g(u) = J_l^T u</c> by one backward with graph, then <c>s = d(g(u) . v)/du</c>. About three passes per chunk.
    /// </summary>
    BatchedExact,
    /// <summary>
    /// Batched central finite difference of two forward passes, <c>(l(theta + eps v) - l(theta - eps v)) / 2 eps</c>,
    /// with <c>eps = step / ||v||</c>; O(eps^2) error and no second-order graph (works with fused attention kernels).
    /// </summary>
    FiniteDifference,
}
