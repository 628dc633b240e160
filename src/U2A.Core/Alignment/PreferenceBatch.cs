using U2A.Core.Data;
using U2A.Core.Models;
using U2A.Core.Unlearning;

namespace U2A.Core.Alignment;

/// <summary>
/// Tokenised preference pairs: row i of <see cref="Chosen"/> and of <see cref="Rejected"/> share a prompt.
/// Reference log-probs are computed once (<see cref="WithReference"/>) and cached.
/// </summary>
/// <remarks>
/// Ownership: a preference batch owns its two token batches and its cached log-probs and disposes them with itself. The
/// constructor and <see cref="WithReference"/> take ownership of what is passed in (dispose the preference batch, not
/// them; do not put the same token batch in two batches). When they throw, nothing was taken. <see cref="Select"/>
/// returns an independent batch.
/// </remarks>
/// <param name="Chosen">Prompt + preferred response per pair (taken over).</param>
/// <param name="Rejected">Prompt + dispreferred response per pair, as many rows as <paramref name="Chosen"/> (taken over).</param>
/// <param name="ReferenceChosen">Cached reference log-probs of the chosen responses, or null (taken over).</param>
/// <param name="ReferenceRejected">Cached reference log-probs of the rejected responses, or null; given exactly when <paramref name="ReferenceChosen"/> is.</param>
/// <exception cref="ArgumentNullException">A token batch is null.</exception>
/// <exception cref="ArgumentException">The row counts differ, or only one of the two references is given.</exception>
public sealed record PreferenceBatch(TokenBatch Chosen, TokenBatch Rejected,
    SequenceLogProbs? ReferenceChosen = null, SequenceLogProbs? ReferenceRejected = null) : IDisposable
{
    /// <summary>Preference pairs tokenised and padded by <paramref name="collator"/> (chosen and rejected each to its own length), no reference log-probs yet.</summary>
    /// <exception cref="CollationException">A pair does not fit the collator's options; the message names its source and side.</exception>
    public static PreferenceBatch FromPairs(SequenceCollator collator, IReadOnlyList<PreferencePair> pairs)
    {
        ArgumentNullException.ThrowIfNull(collator);
        ArgumentNullException.ThrowIfNull(pairs);
        var (chosen, rejected) = collator.Preferences(pairs);
        return new PreferenceBatch(chosen, rejected);
    }

    /// <summary>Prompt + preferred response per pair.</summary>
    public TokenBatch Chosen { get; } = Chosen ?? throw new ArgumentNullException(nameof(Chosen));

    /// <summary>Prompt + dispreferred response per pair.</summary>
    public TokenBatch Rejected { get; } = CheckRejected(Rejected, Chosen);

    /// <summary>Cached reference log-probs of the chosen responses, or null.</summary>
    public SequenceLogProbs? ReferenceChosen { get; } = CheckReferences(ReferenceChosen, ReferenceRejected, Chosen);

    /// <summary>Cached reference log-probs of the rejected responses, or null.</summary>
    public SequenceLogProbs? ReferenceRejected { get; } = ForgetBatch.CheckReference(ReferenceRejected, Rejected, nameof(ReferenceRejected));

    /// <summary>Number of pairs.</summary>
    public int Count => Chosen.Count;

    /// <summary>The same pairs with the reference policy's log-probs cached. Takes ownership of <paramref name="chosen"/> and <paramref name="rejected"/> (see the remarks).</summary>
    /// <exception cref="InvalidOperationException">The reference policy returned log-probs with the wrong number of rows.</exception>
    public static PreferenceBatch WithReference(TokenBatch chosen, TokenBatch rejected, IReferencePolicy reference, int chunkSize = 64)
    {
        ArgumentNullException.ThrowIfNull(chosen);
        ArgumentNullException.ThrowIfNull(rejected);
        ArgumentNullException.ThrowIfNull(reference);
        if (chosen.Count != rejected.Count) throw new ArgumentException($"chosen has {chosen.Count} rows but rejected has {rejected.Count}.", nameof(rejected));
        var c = ForgetBatch.ReferenceLogProbs(chosen, reference, chunkSize);
        try
        {
            var r = ForgetBatch.ReferenceLogProbs(rejected, reference, chunkSize);
            return new PreferenceBatch(chosen, rejected, c, r);
        }
        catch
        {
            c.Sum.Dispose();
            c.TokenCount.Dispose();
            throw;
        }
    }

    /// <summary>The pairs at <paramref name="indices"/> with their cached reference log-probs: a new, independent batch.</summary>
    public PreferenceBatch Select(IReadOnlyList<long> indices)
    {
        // Borrowed views of this batch's parts (never disposed); their Select results are new tensors.
        var c = new ForgetBatch(Chosen, ReferenceChosen).Select(indices);
        try
        {
            var r = new ForgetBatch(Rejected, ReferenceRejected).Select(indices);
            return new PreferenceBatch(c.Tokens, r.Tokens, c.Reference, r.Reference);
        }
        catch
        {
            c.Dispose();
            throw;
        }
    }

    /// <summary>Disposes both token batches and the cached log-probs.</summary>
    public void Dispose()
    {
        Chosen.Dispose();
        Rejected.Dispose();
        foreach (var lp in new[] { ReferenceChosen, ReferenceRejected })
        {
            lp?.Sum.Dispose();
            lp?.TokenCount.Dispose();
        }
    }

    private static TokenBatch CheckRejected(TokenBatch rejected, TokenBatch? chosen)
    {
        ArgumentNullException.ThrowIfNull(rejected, nameof(Rejected));
        if (chosen is not null && chosen.Count != rejected.Count)
            throw new ArgumentException($"Chosen has {chosen.Count} rows but Rejected has {rejected.Count}: row i of each must be the same pair.", nameof(Rejected));
        return rejected;
    }

    private static SequenceLogProbs? CheckReferences(SequenceLogProbs? chosen, SequenceLogProbs? rejected, TokenBatch tokens)
    {
        if ((chosen is null) != (rejected is null))
            throw new ArgumentException("ReferenceChosen and ReferenceRejected must both be given or both be null.", chosen is null ? nameof(ReferenceChosen) : nameof(ReferenceRejected));
        return ForgetBatch.CheckReference(chosen, tokens, nameof(ReferenceChosen));
    }
}
