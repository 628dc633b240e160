using static TorchSharp.torch;

namespace U2A.Core.Models;

/// <summary>
/// Per-example log-probabilities of the response tokens of a batch: <c>Sum[i] = lp(y_i | x_i)</c>, the sum over
/// response tokens of log pi(y_t | x, y_&lt;t), and <c>TokenCount[i] = |y_i|</c>. Both have shape [B].
/// </summary>
/// <param name="Sum">Summed response log-probability per example, [B].</param>
/// <param name="TokenCount">Number of response tokens per example, [B], in the dtype of <paramref name="Sum"/>.</param>
public sealed record SequenceLogProbs(Tensor Sum, Tensor TokenCount)
{
    /// <summary>Mean log-probability per response token, <c>lp / |y|</c>, [B].</summary>
    public Tensor Mean => Sum / TokenCount;

    /// <summary>Token-mean negative log-likelihood, <c>nll_mean = -lp / |y|</c>, [B].</summary>
    public Tensor MeanNll => -Sum / TokenCount;

    /// <summary>A copy cut from the autograd graph (for reference policies and caches).</summary>
    public SequenceLogProbs Detach() => new(Sum.detach(), TokenCount.detach());
}
