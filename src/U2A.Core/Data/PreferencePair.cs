namespace U2A.Core.Data;

/// <summary>A prompt with a preferred and a dispreferred response.</summary>
/// <param name="Prompt">The prompt both responses follow.</param>
/// <param name="Chosen">The preferred response.</param>
/// <param name="Rejected">The dispreferred response.</param>
/// <param name="Source">Where the record was read, for error messages; null for records built in code.</param>
public sealed record PreferencePair(string Prompt, string Chosen, string Rejected, SourceLocation? Source = null)
{
    /// <summary>The rejected response as a negative example.</summary>
    public NegativeExample ToNegative() => new(Prompt, Rejected, Source);

    /// <summary>The chosen response as a retain example.</summary>
    public RetainExample ToRetain() => new(Prompt, Chosen, Source);
}
