using U2A.Core.Models;

namespace U2A.Core.Data;

/// <summary>
/// Tokenised preference pairs: row i of <see cref="Chosen"/> and of <see cref="Rejected"/> share a prompt.
/// Reference log-probs are computed once (<see cref="WithReference"/>) and cached.
/// </summary>
/// <param name="Chosen">Prompt + preferred response per pair.</param>
/// <param name="Rejected">Prompt + dispreferred response per pair.</param>
/// <param name="ReferenceChosen">Cached reference log-probs of the chosen responses, or null.</param>
/// <param name="ReferenceRejected">Cached reference log-probs of the rejected responses, or null.</param>
public sealed record PreferenceBatch(TokenBatch Chosen, TokenBatch Rejected,
    SequenceLogProbs? ReferenceChosen = null, SequenceLogProbs? ReferenceRejected = null) : IDisposable
{
    /// <summary>Number of pairs.</summary>
    public int Count => Chosen.Count;

    /// <summary>The same pairs with the reference policy's log-probs cached.</summary>
    public static PreferenceBatch WithReference(TokenBatch chosen, TokenBatch rejected, IReferencePolicy reference, int chunkSize = 64)
    {
        if (chosen.Count != rejected.Count) throw new ArgumentException($"chosen has {chosen.Count} rows but rejected has {rejected.Count}.", nameof(rejected));
        var c = ForgetBatch.WithReference(chosen, reference, chunkSize).Reference!;
        var r = ForgetBatch.WithReference(rejected, reference, chunkSize).Reference!;
        return new PreferenceBatch(chosen, rejected, c, r);
    }

    /// <summary>The pairs at <paramref name="indices"/> with their cached reference log-probs.</summary>
    public PreferenceBatch Select(IReadOnlyList<long> indices)
    {
        var c = new ForgetBatch(Chosen, ReferenceChosen).Select(indices);
        var r = new ForgetBatch(Rejected, ReferenceRejected).Select(indices);
        return new PreferenceBatch(c.Tokens, r.Tokens, c.Reference, r.Reference);
    }

    /// <inheritdoc />
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
}
