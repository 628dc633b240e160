using U2A.Core.Influence;
using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Core.Unlearning;

/// <summary>
/// The inner (unlearning) objective of U2A: <c>L(theta; w) = sum_i w_i l_i(theta) + sum_t R_t(theta)</c>, where
/// <c>l_i</c> are the <see cref="IUnlearner"/>'s per-example losses and <c>R_t</c> extra terms (a retain term, a parameter
/// regulariser, a user's own). This is the one place where the weighted forget sum is computed.
/// </summary>
/// <remarks>Dispose it to release the terms it created itself (<see cref="GradDiff"/>'s retain term); terms passed in stay the caller's.</remarks>
public sealed class InnerObjective : IDisposable
{
    // The tensor each term returned last (weakly held), to catch a term that caches its value: the first backward pass
    // frees the cached graph, and the next gradient through it would abort the process inside torch.autograd.grad.
    private readonly WeakReference<Tensor>?[] _lastTermValues;
    private readonly IDisposable? _owned;

    /// <summary>Composes a strategy with terms (for example <c>new ParameterRegularizer(...)</c>), which stay the caller's.</summary>
    /// <param name="unlearner">The per-example loss.</param>
    /// <param name="terms">Scalar terms added to the weighted forget sum, or null for none.</param>
    /// <param name="name">Name for logs and run fingerprints; default: the strategy's name, then the terms' names, joined by '+'.</param>
    /// <exception cref="ArgumentException">A term is null.</exception>
    public InnerObjective(IUnlearner unlearner, IEnumerable<IInnerTerm>? terms = null, string? name = null)
        : this(unlearner, terms, name, owned: null)
    {
    }

    internal InnerObjective(IUnlearner unlearner, IEnumerable<IInnerTerm>? terms, string? name, IDisposable? owned)
    {
        Unlearner = unlearner ?? throw new ArgumentNullException(nameof(unlearner));
        Terms = (terms ?? Array.Empty<IInnerTerm>()).ToArray();
        for (int i = 0; i < Terms.Count; i++)
            if (Terms[i] is null) throw new ArgumentException($"terms[{i}] is null.", nameof(terms));
        Name = name ?? string.Join("+", Terms.Select(t => t.Name).Prepend(unlearner.Name));
        _owned = owned;
        _lastTermValues = new WeakReference<Tensor>?[Terms.Count];
    }

    /// <summary>Name for logs and run fingerprints.</summary>
    public string Name { get; }

    /// <summary>The per-example unlearning strategy.</summary>
    public IUnlearner Unlearner { get; }

    /// <summary>All non-forget terms, in order.</summary>
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
        if (!losses.is_floating_point() || losses.dtype != policy.Sum.dtype)
            throw new InvalidOperationException($"{who} returned {losses.dtype} losses; they must have the dtype of the log-probs, {policy.Sum.dtype} " +
                "(a cast to another precision loses digits the gradient checks and the hypergradient rely on).");
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
        return Loss(model, batch, weights, 1.0, includeTerms).Total.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <c>scale * sum_i w_i l_i</c> over the batch plus (when <paramref name="includeTerms"/>) every term; unchecked weights
    /// (the caller validated them). The tensors belong to the caller's dispose scope.
    /// </summary>
    internal InnerLoss Loss(ICausalLM model, ForgetBatch batch, Tensor weights, double scale, bool includeTerms = true)
    {
        var losses = PerExampleLosses(model, batch, out var policy);
        var w = weights.to_type(losses.dtype);
        var weighted = (losses * w).sum();
        var total = scale == 1.0 ? weighted : weighted * scale;
        if (includeTerms)
            for (int i = 0; i < Terms.Count; i++) total = total + TermValue(i, model);
        return new InnerLoss(total, weighted, w, policy);
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

    /// <summary>Disposes the terms this objective created (none unless it came from <see cref="GradDiff"/>).</summary>
    public void Dispose() => _owned?.Dispose();
}
