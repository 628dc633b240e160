using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Core.Alignment;

/// <summary>
/// The metrics TRL's DPO trainer logs, as means over a set of preference pairs, with the implicit rewards
/// <c>r_w = beta * (lp_theta(y_w) - lp_ref(y_w))</c> and <c>r_l = beta * (lp_theta(y_l) - lp_ref(y_l))</c>
/// (summed response log-probs).
/// </summary>
/// <param name="Loss">Mean per-pair loss of the configured <see cref="DpoLossType"/>.</param>
/// <param name="RewardsChosen"><c>rewards/chosen</c>: mean <c>r_w</c>.</param>
/// <param name="RewardsRejected"><c>rewards/rejected</c>: mean <c>r_l</c>.</param>
/// <param name="RewardsAccuracies"><c>rewards/accuracies</c>: fraction of pairs with <c>r_w &gt; r_l</c> (strictly, so 0 while the policy equals the reference).</param>
/// <param name="RewardsMargins"><c>rewards/margins</c>: mean <c>r_w - r_l</c>.</param>
/// <param name="LogpsChosen"><c>logps/chosen</c>: mean policy log-prob of the chosen responses.</param>
/// <param name="LogpsRejected"><c>logps/rejected</c>: mean policy log-prob of the rejected responses.</param>
public sealed record DpoMetrics(double Loss, double RewardsChosen, double RewardsRejected, double RewardsAccuracies,
    double RewardsMargins, double LogpsChosen, double LogpsRejected)
{
    /// <summary>The metrics under TRL's names (<c>loss</c>, <c>rewards/chosen</c>, ..., <c>logps/rejected</c>).</summary>
    public IReadOnlyDictionary<string, double> ToDictionary() => new Dictionary<string, double>
    {
        ["loss"] = Loss,
        ["rewards/chosen"] = RewardsChosen,
        ["rewards/rejected"] = RewardsRejected,
        ["rewards/accuracies"] = RewardsAccuracies,
        ["rewards/margins"] = RewardsMargins,
        ["logps/chosen"] = LogpsChosen,
        ["logps/rejected"] = LogpsRejected,
    };

    /// <summary>Reads metrics back from a dictionary with TRL's names (for example <see cref="Training.TrainingStepMetrics.Metrics"/> of a DPO step).</summary>
    public static DpoMetrics FromDictionary(IReadOnlyDictionary<string, double> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        double Get(string key) => metrics.TryGetValue(key, out var v) ? v : throw new KeyNotFoundException($"metric '{key}' is missing.");
        return new DpoMetrics(Get("loss"), Get("rewards/chosen"), Get("rewards/rejected"), Get("rewards/accuracies"),
            Get("rewards/margins"), Get("logps/chosen"), Get("logps/rejected"));
    }

    /// <summary>Computes the metrics from per-pair log-probs (no gradients are kept).</summary>
    public static DpoMetrics Compute(SequenceLogProbs chosen, SequenceLogProbs rejected, SequenceLogProbs referenceChosen,
        SequenceLogProbs referenceRejected, double beta, DpoLossType lossType = DpoLossType.Sigmoid)
    {
        ArgumentNullException.ThrowIfNull(chosen);
        ArgumentNullException.ThrowIfNull(rejected);
        ArgumentNullException.ThrowIfNull(referenceChosen);
        ArgumentNullException.ThrowIfNull(referenceRejected);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var (c, r, rc, rr) = (chosen.Detach(), rejected.Detach(), referenceChosen.Detach(), referenceRejected.Detach());
        var loss = DpoLoss.PerPair(c, r, rc, rr, beta, lossType);
        var rewardChosen = (c.Sum - rc.Sum) * beta;
        var rewardRejected = (r.Sum - rr.Sum) * beta;
        // One device-to-host copy for all seven means.
        var means = stack(new[] { loss, rewardChosen, rewardRejected, rewardChosen.gt(rewardRejected), rewardChosen - rewardRejected, c.Sum, r.Sum }
            .Select(t => t.to_type(ScalarType.Float64).mean()).ToArray()).cpu().data<double>().ToArray();
        return new DpoMetrics(means[0], means[1], means[2], means[3], means[4], means[5], means[6]);
    }
}
