using U2A.Core.Data;
using static TorchSharp.torch;

namespace U2A.Core.Models;

/// <summary>
/// The one place where logits become per-example response log-probabilities. Every loss in the library gets its
/// log-probs from here: prompt and padding positions are masked out by the batch's response mask.
/// </summary>
public static class ResponseLogProbs
{
    /// <summary>Runs the model on the batch and returns the response log-probabilities per example (new tensors; the batch is borrowed).</summary>
    /// <exception cref="ArgumentException">A token id of the batch is outside the model's vocabulary, or the model's logits are not [B, T, V].</exception>
    public static SequenceLogProbs Compute(ICausalLM model, TokenBatch batch)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        ModelInputs.CheckVocabulary(batch, model.VocabularySize, model);
        using var scope = NewDisposeScope();
        var result = model is ISelectiveLogitsModel selective && batch.ResponsePredictors() is { } predictors
            ? AtResponse(selective, batch, predictors.Positions, predictors.Rows)
            : FromLogits(model.Forward(batch.InputIds, batch.AttentionMask), batch);
        result.Sum.MoveToOuterDisposeScope();
        result.TokenCount.MoveToOuterDisposeScope();
        return result;
    }

    /// <summary>
    /// The same sums as <see cref="FromLogits"/>, from logits computed only at the positions that predict a response token
    /// (one before the first response token to one before the last, per row): the output head and the log-softmax over
    /// the vocabulary are skipped at prompt and padding positions. Each row's sum is accumulated with index_add (linear,
    /// so double backward works).
    /// </summary>
    private static SequenceLogProbs AtResponse(ISelectiveLogitsModel model, TokenBatch batch, long[] positions, long[] rows)
    {
        var device = batch.InputIds.device;
        var at = tensor(positions, device: device);
        var logits = model.ForwardAt(batch.InputIds, batch.AttentionMask, at);
        if (logits.dim() != 2 || logits.shape[0] != positions.Length)
            throw new ArgumentException($"{model.GetType().Name}.ForwardAt returned shape [{string.Join(", ", logits.shape)}] for {positions.Length} positions; expected [{positions.Length}, V].", nameof(model));
        if (batch.MaxTokenId >= logits.shape[1])
            throw new ArgumentException($"the batch holds token id {batch.MaxTokenId}, but the logits cover a vocabulary of {logits.shape[1]} ids.", nameof(batch));
        var next = at.add(1);
        var targets = batch.InputIds.reshape(-1).index_select(0, next);
        var tokenLogp = logits.log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
        var mask = batch.ResponseMask.reshape(-1).index_select(0, next).to_type(tokenLogp.dtype);
        var sum = zeros(batch.Count, dtype: tokenLogp.dtype, device: device).index_add(0, tensor(rows, device: device), tokenLogp * mask, 1);
        var count = batch.ResponseMask[.., 1..].to_type(tokenLogp.dtype).sum(1);
        return new SequenceLogProbs(sum, count);
    }

    /// <summary>Response log-probabilities from logits [B, T, V] that predict position t + 1 at position t (new tensors; the arguments are borrowed).</summary>
    /// <exception cref="ArgumentException">The logits are not floating point [B, T, V] on the batch's device, or a token id is not below V.</exception>
    public static SequenceLogProbs FromLogits(Tensor logits, TokenBatch batch)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(batch);
        if (logits.dim() != 3 || logits.shape[0] != batch.Count || logits.shape[1] != batch.Length)
            throw new ArgumentException($"logits must have shape [{batch.Count}, {batch.Length}, V], got [{string.Join(", ", logits.shape)}].", nameof(logits));
        if (!logits.is_floating_point()) throw new ArgumentException($"logits must be floating point, got {logits.dtype}.", nameof(logits));
        if (logits.device_type != batch.InputIds.device_type || logits.device_index != batch.InputIds.device_index)
            throw new ArgumentException($"logits are on {logits.device} but the batch is on {batch.Device}.", nameof(logits));
        if (batch.MaxTokenId >= logits.shape[2])
            throw new ArgumentException($"the batch holds token id {batch.MaxTokenId}, but the logits cover a vocabulary of {logits.shape[2]} ids.", nameof(batch));
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
