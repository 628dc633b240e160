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
}

/// <summary>A sequence cannot be collated under the options (too long under <see cref="TruncationPolicy.Fail"/>, or its response alone does not fit).</summary>
public sealed class CollationException : Exception
{
    /// <summary>Creates the exception; the message starts with <paramref name="source"/> when known.</summary>
    public CollationException(SourceLocation? source, string reason)
        : base(source is { } s ? $"{s}: {reason}" : reason)
    {
        Location = source;
    }

    /// <summary>Where the record was read, when known.</summary>
    public SourceLocation? Location { get; }
}
