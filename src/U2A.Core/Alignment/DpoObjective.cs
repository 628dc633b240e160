using TorchSharp;
using U2A.Core.Influence;
using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Core.Alignment;

/// <summary>
/// The U2A reference code's alignment objective: the mean DPO loss on a held-out preference set against the reference policy,
/// <c>J = (1/N) sum_n -log sigmoid(beta h_n)</c>, <c>h_n = (lp_theta(y_w) - lp_ref(y_w)) - (lp_theta(y_l) - lp_ref(y_l))</c>
/// on summed response log-probs (see <see cref="DpoLoss"/>). The reported score is <c>-J</c> (higher is better;
/// <c>-log 2</c> at the reference policy); <see cref="Accuracy"/> gives the preference accuracy as well.
/// </summary>
/// <remarks>
/// The reference log-probs are those cached in the batch (<see cref="PreferenceBatch.WithReference"/>). Pairs are evaluated
/// <see cref="DpoObjectiveOptions.ChunkSize"/> at a time and their losses summed, so J is one scalar whose graph spans the set.
/// The batch stays the caller's.
/// </remarks>
public sealed class DpoObjective : IAlignmentScorer, IAlignmentEvaluator
{
    private readonly PreferenceBatch _pairs;

    /// <summary>The DPO objective on <paramref name="heldOut"/>, which must carry reference log-probs.</summary>
    public DpoObjective(PreferenceBatch heldOut, DpoObjectiveOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(heldOut);
        if (heldOut.ReferenceChosen is null || heldOut.ReferenceRejected is null)
            throw new ArgumentException("the preference batch has no cached reference log-probs: build it with PreferenceBatch.WithReference.", nameof(heldOut));
        Options = options ?? new DpoObjectiveOptions();
        Options.Validate();
        _pairs = heldOut;
    }

    /// <summary>The options.</summary>
    public DpoObjectiveOptions Options { get; }

    /// <inheritdoc />
    public string Name => "DPO";

    /// <inheritdoc />
    public Tensor Objective(ICausalLM model)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var scope = NewDisposeScope();
        Tensor total = zeros(Array.Empty<long>(), dtype: model.DType, device: model.Device);
        foreach (var chunk in PairChunks(CancellationToken.None))
        {
            var (c, r, rc, rr) = LogProbs(model, chunk);
            total = total + DpoLoss.PerPair(c, r, rc, rr, Options.Beta, Options.LossType).sum();
        }
        GradientGuard.ThrowIfAdaptersOff(model, total, "DpoObjective.Objective (J)");
        return (total / _pairs.Count).MoveToOuterDisposeScope();
    }

    /// <summary><c>-J</c>, without gradients.</summary>
    public double Evaluate(ICausalLM model, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        double total = 0;
        foreach (var chunk in PairChunks(cancellationToken))
        {
            var (c, r, rc, rr) = LogProbs(model, chunk);
            total += DpoLoss.PerPair(c, r, rc, rr, Options.Beta, Options.LossType).sum().ToDouble();
        }
        return -total / _pairs.Count;
    }

    /// <summary>The share of pairs whose implicit reward margin <c>h</c> is positive (the policy moved towards the chosen response more than towards the rejected one).</summary>
    public double Accuracy(ICausalLM model, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        long wins = 0;
        foreach (var chunk in PairChunks(cancellationToken))
        {
            var (c, r, rc, rr) = LogProbs(model, chunk);
            wins += DpoLoss.Margin(c, r, rc, rr).gt(0).sum().ToInt64();
        }
        return (double)wins / _pairs.Count;
    }

    private IEnumerable<PreferenceBatch> PairChunks(CancellationToken cancellationToken)
    {
        if (_pairs.Count <= Options.ChunkSize)
        {
            yield return _pairs;
            yield break;
        }
        foreach (var idx in RowChunks.Of(_pairs.Count, Options.ChunkSize))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return _pairs.Select(idx); // its tensors belong to the caller's dispose scope
        }
    }

    private static (SequenceLogProbs, SequenceLogProbs, SequenceLogProbs, SequenceLogProbs) LogProbs(ICausalLM model, PreferenceBatch pairs)
    {
        var chosen = ResponseLogProbs.Compute(model, pairs.Chosen);
        var rejected = ResponseLogProbs.Compute(model, pairs.Rejected);
        var device = chosen.Sum.device;
        var dtype = chosen.Sum.dtype;
        SequenceLogProbs Cast(SequenceLogProbs lp) => new(lp.Sum.to(dtype, device), lp.TokenCount.to(dtype, device));
        return (chosen, rejected, Cast(pairs.ReferenceChosen!), Cast(pairs.ReferenceRejected!));
    }
}
