using static TorchSharp.torch;

namespace U2A.Core.Data;

/// <summary>Which side of a row padding goes.</summary>
public enum PaddingSide
{
    /// <summary>Tokens first, padding after (the usual layout for training).</summary>
    Right,

    /// <summary>Padding first, tokens after (the usual layout for generation).</summary>
    Left,
}

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

/// <summary>Options of <see cref="SequenceCollator"/>.</summary>
public sealed record CollateOptions
{
    /// <summary>The side padding goes. Default <see cref="PaddingSide.Right"/>.</summary>
    public PaddingSide Padding { get; init; } = PaddingSide.Right;

    /// <summary>The longest sequence (tokens) a row may hold; null for no limit.</summary>
    public int? MaxLength { get; init; }

    /// <summary>What to do with a longer sequence. Default <see cref="TruncationPolicy.TruncatePromptLeft"/>.</summary>
    public TruncationPolicy Truncation { get; init; } = TruncationPolicy.TruncatePromptLeft;

    /// <summary>The device the tensors are created on; null for the CPU.</summary>
    public Device? Device { get; init; }

    /// <summary>The id written into padding; null for the tokenizer's <c>PadId</c>.</summary>
    public int? PadId { get; init; }

    /// <summary>Checks the options (MaxLength at least 2, PadId not negative, known enum values); returns them.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public CollateOptions Validate()
    {
        if (MaxLength is int max && max < 2)
            throw new ArgumentException($"CollateOptions.MaxLength must be at least 2 (one prompt and one response token), got {max}.");
        if (PadId is int pad && pad < 0)
            throw new ArgumentException($"CollateOptions.PadId must not be negative, got {pad}.");
        if (!Enum.IsDefined(Padding))
            throw new ArgumentException($"CollateOptions.Padding must be Right or Left, got {(int)Padding}.");
        if (!Enum.IsDefined(Truncation))
            throw new ArgumentException($"CollateOptions.Truncation must be a defined TruncationPolicy, got {(int)Truncation}.");
        return this;
    }
}

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
