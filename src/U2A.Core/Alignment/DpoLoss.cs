using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Core.Alignment;

/// <summary>
/// Per-pair preference losses on the implicit reward margin
/// <c>h = (lp_theta(y_w) - lp_ref(y_w)) - (lp_theta(y_l) - lp_ref(y_l))</c> (summed response log-probs).
/// </summary>
public static class DpoLoss
{
    /// <summary>The margin <c>h</c> [B].</summary>
    /// <exception cref="ArgumentException">The four log-probs do not all have B rows (a reference cached for other pairs, say).</exception>
    public static Tensor Margin(SequenceLogProbs chosen, SequenceLogProbs rejected, SequenceLogProbs referenceChosen, SequenceLogProbs referenceRejected)
    {
        CheckRows(chosen, rejected, referenceChosen, referenceRejected);
        return (chosen.Sum - referenceChosen.Sum) - (rejected.Sum - referenceRejected.Sum);
    }

    /// <summary>Throws unless all four are given and have the rows of <paramref name="chosen"/> (no silent broadcasting).</summary>
    internal static void CheckRows(SequenceLogProbs chosen, SequenceLogProbs rejected, SequenceLogProbs referenceChosen, SequenceLogProbs referenceRejected)
    {
        ArgumentNullException.ThrowIfNull(chosen);
        ArgumentNullException.ThrowIfNull(rejected);
        ArgumentNullException.ThrowIfNull(referenceChosen);
        ArgumentNullException.ThrowIfNull(referenceRejected);
        foreach (var (lp, name) in new[] { (rejected, nameof(rejected)), (referenceChosen, nameof(referenceChosen)), (referenceRejected, nameof(referenceRejected)) })
            if (lp.Count != chosen.Count)
                throw new ArgumentException($"{name} has {lp.Count} rows but chosen has {chosen.Count}: every log-prob must have one row per pair.", name);
    }

    /// <summary>The per-pair loss [B] of <paramref name="type"/> at temperature <paramref name="beta"/>.</summary>
    public static Tensor PerPair(SequenceLogProbs chosen, SequenceLogProbs rejected, SequenceLogProbs referenceChosen,
        SequenceLogProbs referenceRejected, double beta, DpoLossType type = DpoLossType.Sigmoid)
    {
        if (!(beta > 0) || double.IsInfinity(beta)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "beta must be positive and finite.");
        using var scope = NewDisposeScope();
        var h = Margin(chosen, rejected, referenceChosen, referenceRejected);
        var loss = type switch
        {
            DpoLossType.Sigmoid => -nn.functional.logsigmoid(h * beta),
            DpoLossType.Ipo => (h - 1.0 / (2.0 * beta)).pow(2),
            DpoLossType.Hinge => (1.0 - h * beta).relu(),
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown DPO loss type."),
        };
        return loss.MoveToOuterDisposeScope();
    }
}
