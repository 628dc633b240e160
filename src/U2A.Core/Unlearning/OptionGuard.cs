using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Core.Unlearning;

/// <summary>Validation of option values at the edge, with messages that name the field.</summary>
internal static class OptionGuard
{
    public static void Positive(double value, string field)
    {
        if (!(value > 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(field, value, $"{field} must be a positive finite number, got {value}.");
    }

    public static void NonNegative(double value, string field)
    {
        if (!(value >= 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(field, value, $"{field} must be a non-negative finite number, got {value}.");
    }

    public static void Finite(double value, string field)
    {
        if (!double.IsFinite(value))
            throw new ArgumentOutOfRangeException(field, value, $"{field} must be a finite number, got {value}.");
    }

    public static void AtLeastOne(int value, string field)
    {
        if (value < 1)
            throw new ArgumentOutOfRangeException(field, value, $"{field} must be at least 1, got {value}.");
    }

    public static void Defined<TEnum>(TEnum value, string field) where TEnum : struct, Enum
    {
        if (!Enum.IsDefined(value))
            throw new ArgumentOutOfRangeException(field, value, $"{field} has no value {value}.");
    }

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
