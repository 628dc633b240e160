namespace U2A.Testing;

/// <summary>Settings of <see cref="UnlearnerContract"/>.</summary>
public sealed record UnlearnerContractOptions
{
    /// <summary>The seed of the tiny model, the batch and the weights; default 0. The reference model (when the strategy needs one) uses seed + 1.</summary>
    public int Seed { get; init; }

    /// <summary>Examples in the random batch; at least 2, default 4. Rows have different lengths, so the batch is padded.</summary>
    public int BatchSize { get; init; } = 4;

    /// <summary>The architecture of the float64 tiny model; default GPT-2.</summary>
    public TinyArchitecture Architecture { get; init; } = TinyArchitecture.Gpt2;

    /// <summary>Relative tolerance of the linearity and independence comparisons; default 1e-9.</summary>
    public double RelativeTolerance { get; init; } = 1e-9;

    /// <summary>Absolute tolerance of the linearity and independence comparisons; default 1e-10.</summary>
    public double AbsoluteTolerance { get; init; } = 1e-10;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first field out of range.</summary>
    public void Validate()
    {
        if (Seed < 0) throw new ArgumentOutOfRangeException(nameof(Seed), Seed, $"UnlearnerContractOptions.Seed must be non-negative, got {Seed}.");
        if (BatchSize < 2) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, $"UnlearnerContractOptions.BatchSize must be at least 2, got {BatchSize}.");
        if (!Enum.IsDefined(Architecture)) throw new ArgumentOutOfRangeException(nameof(Architecture), Architecture, $"UnlearnerContractOptions.Architecture has no value {Architecture}.");
        if (!(RelativeTolerance > 0) || double.IsInfinity(RelativeTolerance))
            throw new ArgumentOutOfRangeException(nameof(RelativeTolerance), RelativeTolerance, $"UnlearnerContractOptions.RelativeTolerance must be a positive finite number, got {RelativeTolerance}.");
        if (!(AbsoluteTolerance > 0) || double.IsInfinity(AbsoluteTolerance))
            throw new ArgumentOutOfRangeException(nameof(AbsoluteTolerance), AbsoluteTolerance, $"UnlearnerContractOptions.AbsoluteTolerance must be a positive finite number, got {AbsoluteTolerance}.");
    }
}
