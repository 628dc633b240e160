using static TorchSharp.torch;

namespace U2A.Core.Data;

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
            throw new ArgumentOutOfRangeException("CollateOptions.MaxLength", max, $"CollateOptions.MaxLength must be at least 2 (one prompt and one response token), got {max}.");
        if (PadId is int pad && pad < 0)
            throw new ArgumentOutOfRangeException("CollateOptions.PadId", pad, $"CollateOptions.PadId must not be negative, got {pad}.");
        if (!Enum.IsDefined(Padding))
            throw new ArgumentOutOfRangeException("CollateOptions.Padding", Padding, $"CollateOptions.Padding must be Right or Left, got {(int)Padding}.");
        if (!Enum.IsDefined(Truncation))
            throw new ArgumentOutOfRangeException("CollateOptions.Truncation", Truncation, $"CollateOptions.Truncation must be a defined TruncationPolicy, got {(int)Truncation}.");
        return this;
    }
}
