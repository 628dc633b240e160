namespace U2A.Core.Models.Generation;

/// <summary>How <see cref="TokenGenerator"/> decodes.</summary>
public sealed record GenerationOptions
{
    /// <summary>Most tokens generated per sequence.</summary>
    public int MaxNewTokens { get; init; } = 32;

    /// <summary>Sampling temperature; 0 (the default) decodes greedily (argmax).</summary>
    public double Temperature { get; init; }

    /// <summary>Nucleus sampling: sample from the smallest set of most likely tokens whose probability reaches TopP (1 = no cut).</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Tokens that end a sequence (the stop token itself is kept in the output).</summary>
    public IReadOnlyCollection<long> StopTokens { get; init; } = Array.Empty<long>();

    /// <summary>Token fed to (and reported for) sequences that have already stopped; also the left-padding token.</summary>
    public long PadTokenId { get; init; }

    /// <summary>Reuse keys and values across steps (true) or rerun the whole sequence each step (false; for checking).</summary>
    public bool UseKvCache { get; init; } = true;

    /// <summary>Throws when an option is out of range.</summary>
    public void Validate()
    {
        Require.AtLeast(MaxNewTokens, 0, "GenerationOptions.MaxNewTokens");
        Require.NonNegative(Temperature, "GenerationOptions.Temperature");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentOutOfRangeException("GenerationOptions.TopP", TopP, $"GenerationOptions.TopP must lie in (0, 1], got {TopP}.");
    }
}
