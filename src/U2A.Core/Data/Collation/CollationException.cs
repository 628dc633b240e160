namespace U2A.Core.Data;

/// <summary>A sequence cannot be collated under the options (too long under <see cref="TruncationPolicy.Fail"/>, or its response alone does not fit).</summary>
/// <remarks>The message is <c>"&lt;file&gt;, line &lt;n&gt;, field '&lt;field&gt;': &lt;reason&gt;"</c>, without the parts that are not known.</remarks>
public sealed class CollationException : Exception
{
    /// <summary>Creates the exception; the message starts with <paramref name="source"/> when known.</summary>
    public CollationException(SourceLocation? source, string reason)
        : this(source, null, reason)
    {
    }

    /// <summary>Creates the exception; the message starts with <paramref name="source"/> and <paramref name="field"/> when known.</summary>
    /// <param name="source">Where the record was read, or null.</param>
    /// <param name="field">The record's field at fault (<c>prompt</c>, <c>response</c>, <c>chosen</c>, <c>rejected</c>), or null.</param>
    /// <param name="reason">What is wrong.</param>
    public CollationException(SourceLocation? source, string? field, string reason)
        : base(Format(source, field, reason))
    {
        Location = source;
        Field = field;
    }

    /// <summary>Where the record was read, when known.</summary>
    public SourceLocation? Location { get; }

    /// <summary>The record's field at fault (<c>prompt</c>, <c>response</c>, <c>chosen</c> or <c>rejected</c>), when known.</summary>
    public string? Field { get; }

    private static string Format(SourceLocation? source, string? field, string reason)
    {
        string where = (source, field) switch
        {
            ({ } s, { } f) => $"{s}, field '{f}'",
            ({ } s, null) => s.ToString(),
            (null, { } f) => $"field '{f}'",
            _ => "",
        };
        return where.Length == 0 ? reason : $"{where}: {reason}";
    }
}
