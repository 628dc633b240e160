namespace U2A.Core.Data;

/// <summary>What collation does with a sequence longer than <see cref="CollateOptions.MaxLength"/>.</summary>
public enum TruncationPolicy
{
    /// <summary>Throw a <see cref="CollationException"/> naming the record's source.</summary>
    Fail,

    /// <summary>Keep the whole response and drop prompt tokens from the left (a leading BOS is kept);
    /// throw when the response leaves no room for at least one prompt token (the default).</summary>
    TruncatePromptLeft,

    /// <summary>As <see cref="TruncatePromptLeft"/>, but when the response alone does not fit, keep the minimal prompt
    /// (the BOS, or else the last prompt token) and cut the response from the right.</summary>
    TruncatePromptLeftThenResponseRight,
}
