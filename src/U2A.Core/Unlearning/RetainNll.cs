using U2A.Core.Data;
using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Core.Unlearning;

/// <summary>
/// The retain term of GradDiff as open-unlearning writes it:
/// <c>R(theta) = alpha * (1/B_r) * sum_j nll_mean(y_j | x_j)</c> over a fixed retain batch <c>D_r</c>.
/// </summary>
/// <remarks>The batch stays the caller's (this term does not dispose it). Default <c>alpha = 1</c> (open-unlearning).</remarks>
public sealed class RetainNll : IInnerTerm
{
    /// <summary>The default weight <c>alpha = 1</c>, open-unlearning's GradDiff retain weight.</summary>
    public const double DefaultAlpha = 1.0;

    /// <summary>A retain term on <paramref name="retain"/> with weight <paramref name="alpha"/>.</summary>
    public RetainNll(TokenBatch retain, double alpha = DefaultAlpha)
    {
        Retain = retain ?? throw new ArgumentNullException(nameof(retain));
        Require.NonNegative(alpha, nameof(alpha));
        Alpha = alpha;
    }

    /// <summary>The retain batch.</summary>
    public TokenBatch Retain { get; }

    /// <summary>The weight <c>alpha</c>.</summary>
    public double Alpha { get; }

    /// <inheritdoc />
    public string Name => "RetainNll";

    /// <inheritdoc />
    public Tensor Value(ICausalLM model)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var scope = NewDisposeScope();
        var lp = ResponseLogProbs.Compute(model, Retain);
        return (lp.MeanNll.mean() * Alpha).MoveToOuterDisposeScope();
    }
}
