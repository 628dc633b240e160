using U2A.Core.Data;
using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Core.Unlearning;

/// <summary>
/// Negative examples to unlearn, tokenised, with the reference policy's log-probs cached once (when a strategy needs them).
/// </summary>
/// <remarks>
/// Ownership: a forget batch owns its tokens and its cached log-probs and disposes them with itself. The constructor and
/// <see cref="WithReference"/> take ownership of the <see cref="TokenBatch"/> (and log-probs) passed in: dispose the
/// forget batch, not them, and do not put the same token batch in two forget batches (pass <c>tokens.Select(...)</c> or a
/// copy to keep your own). When they throw, nothing was taken. <see cref="Select"/> returns an independent batch.
/// </remarks>
/// <param name="Tokens">The tokenised prompt + negative response of each example (taken over).</param>
/// <param name="Reference">Cached reference log-probs of the same examples (one row each), or null (taken over).</param>
/// <exception cref="ArgumentNullException"><paramref name="Tokens"/> is null.</exception>
/// <exception cref="ArgumentException"><paramref name="Reference"/> does not have one row per example.</exception>
public sealed record ForgetBatch(TokenBatch Tokens, SequenceLogProbs? Reference = null) : IDisposable
{
    /// <summary>A forget batch (no reference log-probs yet) of negative examples, tokenised and padded by <paramref name="collator"/>.</summary>
    /// <exception cref="CollationException">An example does not fit the collator's options; the message names its source.</exception>
    public static ForgetBatch FromExamples(SequenceCollator collator, IReadOnlyList<NegativeExample> examples)
    {
        ArgumentNullException.ThrowIfNull(collator);
        ArgumentNullException.ThrowIfNull(examples);
        return new ForgetBatch(collator.Negatives(examples));
    }

    /// <summary>The tokenised prompt + negative response of each example.</summary>
    public TokenBatch Tokens { get; } = Tokens ?? throw new ArgumentNullException(nameof(Tokens));

    /// <summary>Cached reference log-probs of the same examples, or null.</summary>
    public SequenceLogProbs? Reference { get; } = CheckReference(Reference, Tokens, nameof(Reference));

    /// <summary>Number of examples.</summary>
    public int Count => Tokens.Count;

    /// <summary>
    /// Computes the reference log-probs of every example, in chunks of <paramref name="chunkSize"/>, and returns a forget batch
    /// that holds <paramref name="tokens"/> and caches them. Takes ownership of <paramref name="tokens"/> (see the remarks).
    /// </summary>
    /// <exception cref="InvalidOperationException">The reference policy returned log-probs with the wrong number of rows.</exception>
    public static ForgetBatch WithReference(TokenBatch tokens, IReferencePolicy reference, int chunkSize = 64)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(reference);
        var lp = ReferenceLogProbs(tokens, reference, chunkSize);
        return new ForgetBatch(tokens, lp);
    }

    /// <summary>The reference policy's log-probs of every row of <paramref name="tokens"/> (new, detached tensors; the tokens are borrowed).</summary>
    internal static SequenceLogProbs ReferenceLogProbs(TokenBatch tokens, IReferencePolicy reference, int chunkSize)
    {
        Require.AtLeastOne(chunkSize, "ForgetBatch.chunkSize");
        var parts = new List<SequenceLogProbs>();
        try
        {
            for (int start = 0; start < tokens.Count; start += chunkSize)
            {
                var idx = Enumerable.Range(start, Math.Min(chunkSize, tokens.Count - start)).Select(i => (long)i).ToArray();
                using var chunk = tokens.Select(idx);
                var lp = reference.LogProbs(chunk)
                    ?? throw new InvalidOperationException($"the reference policy {reference.GetType().Name} returned null log-probs.");
                parts.Add(lp);
                if (lp.Count != idx.Length)
                    throw new InvalidOperationException($"the reference policy {reference.GetType().Name} returned log-probs of {lp.Count} rows for {idx.Length} sequences.");
            }
            using var noGrad = no_grad(); // the cache carries no graph, even from a policy that forgot its no_grad
            return new SequenceLogProbs(cat(parts.Select(p => p.Sum).ToArray(), 0), cat(parts.Select(p => p.TokenCount).ToArray(), 0));
        }
        finally
        {
            foreach (var p in parts) { p.Sum.Dispose(); p.TokenCount.Dispose(); }
        }
    }

    /// <summary>The examples at <paramref name="indices"/>, with their cached reference log-probs: a new, independent batch.</summary>
    public ForgetBatch Select(IReadOnlyList<long> indices)
    {
        var tokens = Tokens.Select(indices);
        if (Reference is null) return new ForgetBatch(tokens);
        using var idx = tensor(indices.ToArray(), device: Reference.Sum.device);
        return new ForgetBatch(tokens, new SequenceLogProbs(Reference.Sum.index_select(0, idx), Reference.TokenCount.index_select(0, idx)));
    }

    /// <summary>Disposes the tokens and the cached log-probs.</summary>
    public void Dispose()
    {
        Tokens.Dispose();
        Reference?.Sum.Dispose();
        Reference?.TokenCount.Dispose();
    }

    /// <summary>Throws unless <paramref name="reference"/> is null or has one row per row of <paramref name="tokens"/>.</summary>
    internal static SequenceLogProbs? CheckReference(SequenceLogProbs? reference, TokenBatch? tokens, string name)
    {
        if (reference is null || tokens is null) return reference;
        if (reference.Count != tokens.Count)
            throw new ArgumentException($"{name} has {reference.Count} rows but the batch has {tokens.Count} examples; cache them with WithReference.", name);
        return reference;
    }
}
