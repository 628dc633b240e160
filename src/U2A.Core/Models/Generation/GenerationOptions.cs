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
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxNewTokens, 0, nameof(MaxNewTokens));
        if (!(Temperature >= 0) || double.IsInfinity(Temperature)) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "must be finite and >= 0.");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "must lie in (0, 1].");
    }
}

/// <summary>Generated tokens per sequence.</summary>
/// <param name="Tokens">The new tokens of each sequence, up to and including its stop token (prompt excluded).</param>
/// <param name="Stopped">Whether each sequence ended on a stop token (false: it reached MaxNewTokens).</param>
public sealed record GenerationResult(IReadOnlyList<long[]> Tokens, IReadOnlyList<bool> Stopped);
