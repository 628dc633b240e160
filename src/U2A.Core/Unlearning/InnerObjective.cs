using U2A.Core.Data;
using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Core.Unlearning;

/// <summary>
/// The inner (unlearning) objective of U2A: <c>L(theta; w) = sum_i w_i l_i(theta) + sum_t R_t(theta)</c>, where
/// <c>l_i</c> are the <see cref="IUnlearner"/>'s per-example losses and <c>R_t</c> the strategy's own inner terms
/// (a retain term, say) plus any extra terms (the parameter regulariser, say).
/// </summary>
public sealed class InnerObjective
{
    /// <summary>Composes a strategy with extra terms (for example <c>new ParameterRegularizer(...)</c>).</summary>
    public InnerObjective(IUnlearner unlearner, IEnumerable<IInnerTerm>? extraTerms = null)
    {
        Unlearner = unlearner ?? throw new ArgumentNullException(nameof(unlearner));
        Terms = unlearner.InnerTerms.Concat(extraTerms ?? Array.Empty<IInnerTerm>()).ToArray();
    }

    /// <summary>The per-example unlearning strategy.</summary>
    public IUnlearner Unlearner { get; }

    /// <summary>All non-forget terms: the strategy's, then the extra ones.</summary>
    public IReadOnlyList<IInnerTerm> Terms { get; }

    /// <summary>The per-example losses <c>l_i</c> [B] of a forget batch at the model's current parameters.</summary>
    public Tensor PerExampleLosses(ICausalLM model, ForgetBatch batch) => PerExampleLosses(model, batch, out _);

    /// <summary>The per-example losses [B], and the policy's response log-probs they were computed from.</summary>
    public Tensor PerExampleLosses(ICausalLM model, ForgetBatch batch, out SequenceLogProbs policy)
    {
        if (Unlearner.NeedsReference && batch.Reference is null)
            throw new ArgumentException($"{Unlearner.Name} needs reference log-probs: build the batch with ForgetBatch.WithReference.", nameof(batch));
        policy = ResponseLogProbs.Compute(model, batch.Tokens);
        return Unlearner.PerExampleLoss(policy, batch.Reference);
    }

    /// <summary><c>sum_i w_i l_i</c> over the batch (weights [B] on the model's device), plus every term when <paramref name="includeTerms"/>.</summary>
    public Tensor Value(ICausalLM model, ForgetBatch batch, Tensor weights, bool includeTerms = true)
    {
        if (weights.dim() != 1 || weights.shape[0] != batch.Count)
            throw new ArgumentException($"weights must have shape [{batch.Count}], got [{string.Join(", ", weights.shape)}].", nameof(weights));
        using var scope = NewDisposeScope();
        var losses = PerExampleLosses(model, batch);
        var total = (losses * weights.to_type(losses.dtype)).sum();
        if (includeTerms)
            foreach (var term in Terms) total = total + term.Value(model);
        return total.MoveToOuterDisposeScope();
    }

    /// <summary>The sum of the non-forget terms alone (a zero scalar when there are none).</summary>
    public Tensor TermsValue(ICausalLM model)
    {
        using var scope = NewDisposeScope();
        Tensor total = zeros(Array.Empty<long>(), dtype: model.DType, device: model.Device);
        foreach (var term in Terms) total = total + term.Value(model);
        return total.MoveToOuterDisposeScope();
    }
}
