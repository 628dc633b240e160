using U2A.Core.Influence;
using TorchSharp;
using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Core.Alignment;

/// <summary>
/// A reference-free alignment objective: the mean likelihood margin of chosen over rejected responses,
/// <c>m_n = lp_theta(y_w,n | x_n) - lp_theta(y_l,n | x_n)</c> (summed response log-probs),
/// <c>J = -(1/N) sum_n m_n</c>; the reported score is the mean margin <c>-J</c>.
/// </summary>
/// <remarks>Unbounded: use it to measure, or as a J that rewards pushing the rejected response down. The batch stays the caller's.</remarks>
public sealed class LikelihoodMarginObjective : IAlignmentScorer, IAlignmentEvaluator
{
    private readonly PreferenceBatch _pairs;

    /// <summary>The margin objective on <paramref name="pairs"/> (reference log-probs, if cached, are not used).</summary>
    public LikelihoodMarginObjective(PreferenceBatch pairs, LikelihoodMarginOptions? options = null)
    {
        _pairs = pairs ?? throw new ArgumentNullException(nameof(pairs));
        Options = options ?? new LikelihoodMarginOptions();
        Options.Validate();
    }

    /// <summary>The options.</summary>
    public LikelihoodMarginOptions Options { get; }

    /// <inheritdoc />
    public string Name => "LikelihoodMargin";

    /// <summary>The per-pair margin <c>lp(y_w) - lp(y_l)</c> [B].</summary>
    public static Tensor Margin(SequenceLogProbs chosen, SequenceLogProbs rejected)
    {
        ArgumentNullException.ThrowIfNull(chosen);
        ArgumentNullException.ThrowIfNull(rejected);
        return chosen.Sum - rejected.Sum;
    }

    /// <inheritdoc />
    public Tensor Objective(ICausalLM model)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var scope = NewDisposeScope();
        var sum = MarginSum(model, CancellationToken.None);
        GradientGuard.ThrowIfAdaptersOff(model, sum, "LikelihoodMarginObjective.Objective (J)");
        return (-sum / _pairs.Count).MoveToOuterDisposeScope();
    }

    /// <summary>The mean margin <c>-J</c>, without gradients.</summary>
    public double Evaluate(ICausalLM model, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        return MarginSum(model, cancellationToken).ToDouble() / _pairs.Count;
    }

    private Tensor MarginSum(ICausalLM model, CancellationToken cancellationToken)
    {
        Tensor total = zeros(Array.Empty<long>(), dtype: model.DType, device: model.Device);
        var chunks = _pairs.Count <= Options.ChunkSize ? new[] { _pairs } : RowChunks.Of(_pairs.Count, Options.ChunkSize).Select(_pairs.Select);
        foreach (var pairs in chunks)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var chosen = ResponseLogProbs.Compute(model, pairs.Chosen);
            var rejected = ResponseLogProbs.Compute(model, pairs.Rejected);
            total = total + Margin(chosen, rejected).sum();
        }
        return total;
    }
}
