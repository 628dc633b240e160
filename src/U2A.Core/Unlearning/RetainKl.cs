using U2A.Core.Data;
using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Core.Unlearning;

/// <summary>
/// A KL retain term: <c>R(theta) = alpha * (1/N) * sum_(j,t) KL(pi_theta(. | x_j, y_j,&lt;t) || pi_ref(. | x_j, y_j,&lt;t))</c>,
/// token-level over the <c>N</c> response tokens of a fixed retain batch, where
/// <c>KL(p || q) = sum_v p(v) (log p(v) - log q(v))</c> over the vocabulary.
/// </summary>
/// <remarks>
/// The reference distributions are those of the model passed to the constructor, at that moment: pass the policy
/// itself before unlearning starts (its parameters are then <c>theta_0</c>) or a separate frozen model. They are cached
/// once, [N, V] values (the reference is frozen and the batch fixed); dispose the term to free them.
/// The direction is KL(policy || reference), the mode-seeking one; open-unlearning's GradDiff KL uses the other
/// direction. Default <c>alpha = 0.3</c>, the U2A reference code's KL weight. The batch stays the caller's.
/// </remarks>
public sealed class RetainKl : IInnerTerm, IDisposable
{
    /// <summary>The default weight <c>alpha = 0.3</c> (the U2A reference code).</summary>
    public const double DefaultAlpha = 0.3;

    private readonly Tensor _referenceLogProbs; // [N, V]

    /// <summary>Caches <paramref name="reference"/>'s next-token log-distributions at the response tokens of <paramref name="retain"/>.</summary>
    public RetainKl(ICausalLM reference, TokenBatch retain, double alpha = DefaultAlpha)
    {
        ArgumentNullException.ThrowIfNull(reference);
        Retain = retain ?? throw new ArgumentNullException(nameof(retain));
        Require.NonNegative(alpha, nameof(alpha));
        Alpha = alpha;
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        _referenceLogProbs = ResponseTokenLogDistributions(reference, retain).detach().DetachFromDisposeScope();
    }

    /// <summary>The retain batch.</summary>
    public TokenBatch Retain { get; }

    /// <summary>The weight <c>alpha</c>.</summary>
    public double Alpha { get; }

    /// <inheritdoc />
    public string Name => "RetainKl";

    /// <inheritdoc />
    public Tensor Value(ICausalLM model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.VocabularySize != _referenceLogProbs.shape[1])
            throw new ArgumentException($"the model's vocabulary ({model.VocabularySize}) differs from the reference's ({_referenceLogProbs.shape[1]}).", nameof(model));
        using var scope = NewDisposeScope();
        var logp = ResponseTokenLogDistributions(model, Retain);
        var logq = _referenceLogProbs.to(logp.dtype, logp.device);
        var kl = (logp.exp() * (logp - logq)).sum(1);
        return (kl.mean() * Alpha).MoveToOuterDisposeScope();
    }

    /// <summary>log pi(. | prefix) [N, V] at the positions that predict response tokens, row-major over the batch.</summary>
    private static Tensor ResponseTokenLogDistributions(ICausalLM model, TokenBatch batch)
    {
        ModelInputs.CheckVocabulary(batch, model.VocabularySize, model);
        var logits = model.Forward(batch.InputIds, batch.AttentionMask);
        var logp = logits[.., ..^1].log_softmax(-1);
        var rows = batch.ResponseMask[.., 1..].reshape(-1).nonzero().squeeze(-1).to(logp.device);
        return logp.reshape(-1, logp.shape[2]).index_select(0, rows);
    }

    /// <inheritdoc />
    public void Dispose() => _referenceLogProbs.Dispose();
}
