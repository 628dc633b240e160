using U2A.Core.Models;

namespace U2A.Core.Data;

/// <summary>
/// Negative examples to unlearn, tokenised, with the reference policy's log-probs cached once (when a strategy needs them).
/// </summary>
/// <param name="Tokens">The tokenised prompt + negative response of each example.</param>
/// <param name="Reference">Cached reference log-probs of the same examples, or null.</param>
public sealed record ForgetBatch(TokenBatch Tokens, SequenceLogProbs? Reference = null) : IDisposable
{
    /// <summary>Number of examples.</summary>
    public int Count => Tokens.Count;

    /// <summary>Computes and caches the reference log-probs of every example, in chunks of <paramref name="chunkSize"/>.</summary>
    public static ForgetBatch WithReference(TokenBatch tokens, IReferencePolicy reference, int chunkSize = 64)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        var sums = new List<TorchSharp.torch.Tensor>();
        var counts = new List<TorchSharp.torch.Tensor>();
        for (int start = 0; start < tokens.Count; start += chunkSize)
        {
            var idx = Enumerable.Range(start, Math.Min(chunkSize, tokens.Count - start)).Select(i => (long)i).ToArray();
            using var chunk = tokens.Select(idx);
            var lp = reference.LogProbs(chunk);
            sums.Add(lp.Sum); counts.Add(lp.TokenCount);
        }
        var sum = TorchSharp.torch.cat(sums, 0);
        var count = TorchSharp.torch.cat(counts, 0);
        foreach (var t in sums.Concat(counts)) t.Dispose();
        return new ForgetBatch(tokens, new SequenceLogProbs(sum, count));
    }

    /// <summary>The examples at <paramref name="indices"/>, with their cached reference log-probs.</summary>
    public ForgetBatch Select(IReadOnlyList<long> indices)
    {
        var tokens = Tokens.Select(indices);
        if (Reference is null) return new ForgetBatch(tokens);
        using var idx = TorchSharp.torch.tensor(indices.ToArray(), device: Reference.Sum.device);
        return new ForgetBatch(tokens, new SequenceLogProbs(Reference.Sum.index_select(0, idx), Reference.TokenCount.index_select(0, idx)));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Tokens.Dispose();
        Reference?.Sum.Dispose();
        Reference?.TokenCount.Dispose();
    }
}
