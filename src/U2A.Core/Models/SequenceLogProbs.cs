using static TorchSharp.torch;

namespace U2A.Core.Models;

/// <summary>
/// Per-example log-probabilities of the response tokens of a batch: <c>Sum[i] = lp(y_i | x_i)</c>, the sum over
/// response tokens of log pi(y_t | x, y_&lt;t), and <c>TokenCount[i] = |y_i|</c>. Both have shape [B].
/// </summary>
/// <remarks>
/// A holder of two tensors; it does not dispose them. Whoever made them owns them, until a <c>ForgetBatch</c>
/// or <c>PreferenceBatch</c> constructed with this object takes them over (and disposes them with itself).
/// </remarks>
/// <param name="Sum">Summed response log-probability per example, floating point [B].</param>
/// <param name="TokenCount">Number of response tokens per example, [B], in the dtype of <paramref name="Sum"/>.</param>
/// <exception cref="ArgumentNullException">A tensor is null.</exception>
/// <exception cref="ArgumentException"><paramref name="Sum"/> is not a floating-point vector, or <paramref name="TokenCount"/> does not have its shape.</exception>
public sealed record SequenceLogProbs(Tensor Sum, Tensor TokenCount)
{
    /// <summary>Summed response log-probability per example, [B].</summary>
    public Tensor Sum { get; } = CheckSum(Sum);

    /// <summary>Number of response tokens per example, [B].</summary>
    public Tensor TokenCount { get; } = CheckCount(TokenCount, Sum);

    /// <summary>Mean log-probability per response token, <c>lp / |y|</c>, [B].</summary>
    public Tensor Mean => Sum / TokenCount;

    /// <summary>Token-mean negative log-likelihood, <c>nll_mean = -lp / |y|</c>, [B].</summary>
    public Tensor MeanNll => -Sum / TokenCount;

    /// <summary>Number of examples B.</summary>
    public int Count => (int)Sum.shape[0];

    /// <summary>A copy cut from the autograd graph (for reference policies and caches).</summary>
    public SequenceLogProbs Detach() => new(Sum.detach(), TokenCount.detach());

    private static Tensor CheckSum(Tensor sum)
    {
        ArgumentNullException.ThrowIfNull(sum, nameof(Sum));
        if (sum.IsInvalid) throw new ArgumentException("Sum is a disposed tensor.", nameof(Sum));
        if (sum.dim() != 1) throw new ArgumentException($"Sum must be a vector [B], got shape [{string.Join(", ", sum.shape)}].", nameof(Sum));
        if (!sum.is_floating_point()) throw new ArgumentException($"Sum must be floating point, got {sum.dtype}.", nameof(Sum));
        return sum;
    }

    private static Tensor CheckCount(Tensor count, Tensor sum)
    {
        ArgumentNullException.ThrowIfNull(count, nameof(TokenCount));
        if (count.IsInvalid) throw new ArgumentException("TokenCount is a disposed tensor.", nameof(TokenCount));
        if (!count.shape.SequenceEqual(sum.shape))
            throw new ArgumentException($"TokenCount must have the shape of Sum [{string.Join(", ", sum.shape)}], got [{string.Join(", ", count.shape)}].", nameof(TokenCount));
        return count;
    }
}
