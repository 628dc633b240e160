using TorchSharp;
using U2A.Core.Data;
using static TorchSharp.torch;

namespace U2A.Core.Models;

/// <summary>
/// The one place where logits become per-example response log-probabilities. Every loss in the library gets its
/// log-probs from here: prompt and padding positions are masked out by the batch's response mask.
/// </summary>
public static class ResponseLogProbs
{
    /// <summary>Runs the model on the batch and returns the response log-probabilities per example.</summary>
    public static SequenceLogProbs Compute(ICausalLM model, TokenBatch batch)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        using var scope = NewDisposeScope();
        var logits = model.Forward(batch.InputIds, batch.AttentionMask);
        var result = FromLogits(logits, batch);
        result.Sum.MoveToOuterDisposeScope();
        result.TokenCount.MoveToOuterDisposeScope();
        return result;
    }

    /// <summary>Response log-probabilities from logits [B, T, V] that predict position t + 1 at position t.</summary>
    public static SequenceLogProbs FromLogits(Tensor logits, TokenBatch batch)
    {
        if (logits.dim() != 3 || logits.shape[0] != batch.Count || logits.shape[1] != batch.Length)
            throw new ArgumentException($"logits must have shape [{batch.Count}, {batch.Length}, V], got [{string.Join(", ", logits.shape)}].", nameof(logits));
        using var scope = NewDisposeScope();
        var logp = logits[.., ..^1].log_softmax(-1);
        var targets = batch.InputIds[.., 1..];
        var tokenLogp = logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1);
        var mask = batch.ResponseMask[.., 1..].to_type(tokenLogp.dtype);
        var sum = (tokenLogp * mask).sum(1);
        var count = mask.sum(1);
        sum.MoveToOuterDisposeScope();
        count.MoveToOuterDisposeScope();
        return new SequenceLogProbs(sum, count);
    }
}
