namespace U2A.Core.Tokenization;

/// <summary>One tokenised prompt + response: the ids and the index of the first response token.</summary>
/// <param name="Ids">The token ids: prompt tokens (after any BOS), then response tokens (with any suffix and EOS).</param>
/// <param name="ResponseStart">Index of the first response token; at least 1 (position 0 is never a response token) and below <c>Ids.Length</c>.</param>
/// <param name="LeadingSpecialTokens">How many leading tokens (a BOS) truncation must keep.</param>
public sealed record EncodedSequence(int[] Ids, int ResponseStart, int LeadingSpecialTokens = 0)
{
    /// <summary>Total number of tokens.</summary>
    public int Length => Ids.Length;

    /// <summary>Number of prompt tokens (BOS included).</summary>
    public int PromptLength => ResponseStart;

    /// <summary>Number of response tokens.</summary>
    public int ResponseLength => Ids.Length - ResponseStart;

    /// <summary>Throws unless the layout is valid: 1 &lt;= ResponseStart &lt; Length and the special prefix lies in the prompt.</summary>
    public EncodedSequence Validate()
    {
        ArgumentNullException.ThrowIfNull(Ids);
        if (ResponseStart < 1) throw new ArgumentException($"ResponseStart is {ResponseStart}; the prompt needs at least one token (position 0 is never a response token).");
        if (ResponseStart >= Ids.Length) throw new ArgumentException($"ResponseStart is {ResponseStart} but the sequence has {Ids.Length} tokens: the response is empty.");
        if (LeadingSpecialTokens < 0 || LeadingSpecialTokens > ResponseStart) throw new ArgumentException($"LeadingSpecialTokens {LeadingSpecialTokens} is outside [0, {ResponseStart}].");
        return this;
    }
}
