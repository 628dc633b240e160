namespace U2A.Core.Data;

/// <summary>One PKU-SafeRLHF record: a prompt, two responses and their safety and preference labels.</summary>
/// <param name="Prompt">The prompt.</param>
/// <param name="Response0">Response 0.</param>
/// <param name="Response1">Response 1.</param>
/// <param name="IsResponse0Safe">Whether response 0 is labelled safe.</param>
/// <param name="IsResponse1Safe">Whether response 1 is labelled safe.</param>
/// <param name="BetterResponseId">The more helpful response (0 or 1).</param>
/// <param name="SaferResponseId">The safer response (0 or 1).</param>
/// <param name="Source">Where the record was read.</param>
public sealed record PkuSafeRlhfRecord(string Prompt, string Response0, string Response1,
    bool IsResponse0Safe, bool IsResponse1Safe, int BetterResponseId, int SaferResponseId, SourceLocation? Source = null)
{
    /// <summary>Response <paramref name="id"/> (0 or 1).</summary>
    public string Response(int id) => id switch
    {
        0 => Response0,
        1 => Response1,
        _ => throw new ArgumentOutOfRangeException(nameof(id), id, "a response id is 0 or 1."),
    };

    /// <summary>Whether response <paramref name="id"/> is labelled safe.</summary>
    public bool IsSafe(int id) => id switch
    {
        0 => IsResponse0Safe,
        1 => IsResponse1Safe,
        _ => throw new ArgumentOutOfRangeException(nameof(id), id, "a response id is 0 or 1."),
    };

    /// <summary>The pair with the safer (or better) response chosen and the other rejected.</summary>
    public PreferencePair ToPreferencePair(PkuPreference by = PkuPreference.Safer)
    {
        int c = by == PkuPreference.Safer ? SaferResponseId : BetterResponseId;
        return new PreferencePair(Prompt, Response(c), Response(1 - c), Source);
    }

    /// <summary>The responses labelled unsafe (0, 1 or 2), as negative examples, response 0 first.</summary>
    public IEnumerable<NegativeExample> UnsafeResponses()
    {
        if (!IsResponse0Safe) yield return new NegativeExample(Prompt, Response0, Source);
        if (!IsResponse1Safe) yield return new NegativeExample(Prompt, Response1, Source);
    }

    /// <summary>The responses labelled safe (0, 1 or 2), as retain examples, response 0 first.</summary>
    public IEnumerable<RetainExample> SafeResponses()
    {
        if (IsResponse0Safe) yield return new RetainExample(Prompt, Response0, Source);
        if (IsResponse1Safe) yield return new RetainExample(Prompt, Response1, Source);
    }
}
