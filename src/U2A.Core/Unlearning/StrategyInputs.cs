using U2A.Core.Models;

namespace U2A.Core.Unlearning;

/// <summary>Checks of what a strategy receives.</summary>
internal static class StrategyInputs
{
    /// <summary>The reference log-probs, checked against the policy's batch size and moved to its dtype and device.</summary>
    public static SequenceLogProbs Reference(SequenceLogProbs? reference, SequenceLogProbs policy, string strategy)
    {
        if (reference is null)
            throw new ArgumentNullException(nameof(reference), $"{strategy} needs the reference policy's log-probs (ForgetBatch.WithReference caches them).");
        if (reference.Sum.shape[0] != policy.Sum.shape[0])
            throw new ArgumentException($"{strategy}: reference log-probs have {reference.Sum.shape[0]} rows but the policy's have {policy.Sum.shape[0]}.", nameof(reference));
        return new SequenceLogProbs(
            reference.Sum.to(policy.Sum.dtype, policy.Sum.device),
            reference.TokenCount.to(policy.Sum.dtype, policy.Sum.device));
    }
}
