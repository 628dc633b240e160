using U2A.Core.Influence;
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
    // The tensor each term returned last (weakly held), to catch a term that caches its value: the first backward pass
    // frees the cached graph, and the next gradient through it would abort the process inside torch.autograd.grad.
    private readonly WeakReference<Tensor>?[] _lastTermValues;

    /// <summary>Composes a strategy with extra terms (for example <c>new ParameterRegularizer(...)</c>).</summary>
    /// <exception cref="ArgumentException">The strategy's <see cref="IUnlearner.InnerTerms"/> is null, or a term is null.</exception>
    public InnerObjective(IUnlearner unlearner, IEnumerable<IInnerTerm>? extraTerms = null)
    {
        Unlearner = unlearner ?? throw new ArgumentNullException(nameof(unlearner));
        var own = unlearner.InnerTerms
            ?? throw new ArgumentException($"the unlearner '{unlearner.Name}' ({unlearner.GetType().Name}) returned null InnerTerms; return an empty list when it has none.", nameof(unlearner));
        Terms = own.Concat(extraTerms ?? Array.Empty<IInnerTerm>()).ToArray();
        for (int i = 0; i < Terms.Count; i++)
            if (Terms[i] is null)
                throw new ArgumentException(i < own.Count
                    ? $"InnerTerms[{i}] of the unlearner '{unlearner.Name}' is null."
                    : $"extraTerms[{i - own.Count}] is null.", i < own.Count ? nameof(unlearner) : nameof(extraTerms));
        _lastTermValues = new WeakReference<Tensor>?[Terms.Count];
    }

    /// <summary>The per-example unlearning strategy.</summary>
    public IUnlearner Unlearner { get; }

    /// <summary>All non-forget terms: the strategy's, then the extra ones.</summary>
    public IReadOnlyList<IInnerTerm> Terms { get; }

    /// <summary>The per-example losses <c>l_i</c> [B] of a forget batch at the model's current parameters.</summary>
    /// <exception cref="ArgumentException">The strategy needs reference log-probs and the batch has none, or the batch's token ids do not fit the model.</exception>
    /// <exception cref="InvalidOperationException">The strategy's loss is not a floating-point vector [B] on the batch's device, or (with
    /// gradients enabled) has no autograd graph although the policy's log-probs have one; or the model is a <see cref="Models.Lora.LoraModel"/>
    /// whose adapters are switched off or merged while gradients are enabled. The message names the strategy.</exception>
    public Tensor PerExampleLosses(ICausalLM model, ForgetBatch batch) => PerExampleLosses(model, batch, out _);

    /// <summary>The per-example losses [B], and the policy's response log-probs they were computed from.</summary>
    /// <exception cref="ArgumentException">As <see cref="PerExampleLosses(ICausalLM, ForgetBatch)"/>.</exception>
    /// <exception cref="InvalidOperationException">As <see cref="PerExampleLosses(ICausalLM, ForgetBatch)"/>.</exception>
    public Tensor PerExampleLosses(ICausalLM model, ForgetBatch batch, out SequenceLogProbs policy)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        if (Unlearner.NeedsReference && batch.Reference is null)
            throw new ArgumentException($"{Unlearner.Name} needs reference log-probs: build the batch with ForgetBatch.WithReference.", nameof(batch));
        policy = ResponseLogProbs.Compute(model, batch.Tokens);
        GradientGuard.ThrowIfAdaptersOff(model, policy.Sum, $"the per-example losses of '{Unlearner.Name}'");
        var losses = Unlearner.PerExampleLoss(policy, batch.Reference);
        CheckLosses(losses, policy, batch.Count);
        return losses;
    }

    private void CheckLosses(Tensor? losses, SequenceLogProbs policy, int count)
    {
        string who = $"the unlearner '{Unlearner.Name}' ({Unlearner.GetType().Name}): PerExampleLoss";
        if (losses is null) throw new InvalidOperationException($"{who} returned null; it must return one loss per example, a tensor of shape [{count}].");
        if (losses.IsInvalid) throw new InvalidOperationException($"{who} returned a disposed tensor.");
        if (losses.dim() != 1 || losses.shape[0] != count)
            throw new InvalidOperationException($"{who} returned shape {GradientGuard.Shape(losses)} for a batch of {count} examples; it must return one loss " +
                $"per example, shape [{count}] (never a mean or sum over the batch: the weights multiply the losses outside the strategy).");
        if (!losses.is_floating_point())
            throw new InvalidOperationException($"{who} returned {losses.dtype} losses; they must be floating point (the dtype of the log-probs, {policy.Sum.dtype}).");
        if (losses.device_type != policy.Sum.device_type || losses.device_index != policy.Sum.device_index)
            throw new InvalidOperationException($"{who} returned losses on {losses.device}, but the policy's log-probs are on {policy.Sum.device}; create every tensor on the model's device.");
        if (is_grad_enabled() && policy.Sum.requires_grad && !losses.requires_grad)
            throw new InvalidOperationException($"{who} returned losses with no autograd graph (requires_grad is false) although the policy's log-probs have one: " +
                "the loss was detached, computed under torch.no_grad(), or rebuilt from host values, so nothing can be differentiated through it " +
                "(torch.autograd.grad would abort the process). Compute it from policy.Sum, policy.Mean or policy.MeanNll with tensor operations.");
    }

    /// <summary><c>sum_i w_i l_i</c> over the batch (weights [B] on the model's device), plus every term when <paramref name="includeTerms"/>.</summary>
    /// <param name="model">The model.</param>
    /// <param name="batch">The forget batch.</param>
    /// <param name="weights">Finite, non-negative weights [B], floating point, on the model's device (borrowed: they stay the caller's).</param>
    /// <param name="includeTerms">Whether to add the non-forget terms.</param>
    /// <exception cref="ArgumentException">The weights are not a finite, non-negative floating-point vector [B] on the model's device.</exception>
    /// <exception cref="InvalidOperationException">As <see cref="PerExampleLosses(ICausalLM, ForgetBatch)"/>, or a term's value is not a floating-point scalar.</exception>
    public Tensor Value(ICausalLM model, ForgetBatch batch, Tensor weights, bool includeTerms = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(weights);
        CheckWeights(weights, batch.Count, model);
        using var scope = NewDisposeScope();
        var losses = PerExampleLosses(model, batch);
        var total = (losses * weights.to_type(losses.dtype)).sum();
        if (includeTerms)
            for (int i = 0; i < Terms.Count; i++) total = total + TermValue(i, model);
        return total.MoveToOuterDisposeScope();
    }

    /// <summary>The sum of the non-forget terms alone (a zero scalar when there are none).</summary>
    /// <exception cref="InvalidOperationException">A term's value is not a floating-point scalar, or is the tensor it returned last time with a graph (a cache).</exception>
    public Tensor TermsValue(ICausalLM model)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var scope = NewDisposeScope();
        Tensor total = zeros(Array.Empty<long>(), dtype: model.DType, device: model.Device);
        for (int i = 0; i < Terms.Count; i++) total = total + TermValue(i, model);
        return total.MoveToOuterDisposeScope();
    }

    private static void CheckWeights(Tensor weights, int count, ICausalLM model)
    {
        if (weights.IsInvalid) throw new ArgumentException("weights is a disposed tensor.", nameof(weights));
        if (weights.dim() != 1 || weights.shape[0] != count)
            throw new ArgumentException($"weights must have shape [{count}], got {GradientGuard.Shape(weights)}.", nameof(weights));
        if (!weights.is_floating_point())
            throw new ArgumentException($"weights must be floating point, got {weights.dtype}.", nameof(weights));
        if (weights.device_type != model.Device.type || (model.Device.index >= 0 && weights.device_index != model.Device.index))
            throw new ArgumentException($"weights are on {weights.device} but the model is on {model.Device}; create them on the model's device.", nameof(weights));
        double[] host;
        using (NewDisposeScope())
        using (no_grad())
        {
            var w = weights.to_type(ScalarType.Float64);
            // One device-to-host read: [the smallest weight, whether all are finite].
            host = stack(new[] { w.nan_to_num(nan: double.NegativeInfinity).min(), w.isfinite().all().to_type(ScalarType.Float64) }).cpu().data<double>().ToArray();
        }
        if (host[1] == 0) throw new ArgumentException("weights must be finite: some weight is NaN or infinite.", nameof(weights));
        if (host[0] < 0) throw new ArgumentException($"weights must be non-negative: the smallest is {host[0]}.", nameof(weights));
    }

    private Tensor TermValue(int i, ICausalLM model)
    {
        var term = Terms[i];
        var value = term.Value(model);
        string who = $"the inner term '{term.Name}' ({term.GetType().Name}): Value";
        if (value is null) throw new InvalidOperationException($"{who} returned null; it must return a scalar.");
        if (value.IsInvalid) throw new InvalidOperationException($"{who} returned a disposed tensor.");
        if (value.numel() != 1) throw new InvalidOperationException($"{who} returned shape {GradientGuard.Shape(value)}; it must return a scalar (one element).");
        if (!value.is_floating_point()) throw new InvalidOperationException($"{who} returned {value.dtype}; it must be floating point.");
        if (_lastTermValues[i] is { } last && last.TryGetTarget(out var previous) && ReferenceEquals(previous, value) && value.requires_grad)
            throw new InvalidOperationException($"{who} returned the same tensor object as on its previous call: a cached value, whose autograd graph the " +
                "first backward pass freed (and whose parameters were since changed in place), so a later gradient through it would abort the process. " +
                "Compute the term anew from the model's current parameters on every call.");
        _lastTermValues[i] = new WeakReference<Tensor>(value);
        return value.numel() == 1 && value.dim() != 0 ? value.reshape(Array.Empty<long>()) : value;
    }
}
