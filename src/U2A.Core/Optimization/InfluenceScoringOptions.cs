using U2A.Core.Influence;

namespace U2A.Core.Optimization;

/// <summary>How U2A computes the influence scores <c>s_i = -dJ/dw_i</c> of the forget pool.</summary>
public sealed record InfluenceScoringOptions
{
    /// <summary>How the scores <c>&lt;grad l_i, v&gt;</c> are computed (exact batched by default).</summary>
    public ScoringMethod Method { get; init; } = ScoringMethod.BatchedExact;

    /// <summary>Memory one batched scoring pass may hold, in bytes (default 2 GiB; at least 1 MiB): the chunk size is chosen
    /// from it on the first scoring call by measuring one example's pass, at most <see cref="ChunkSize"/>, and logged. Null: always
    /// use <see cref="ChunkSize"/>.</summary>
    public long? MemoryBudgetBytes { get; init; } = 2L << 30;

    /// <summary>Candidates per batched scoring pass: the largest chunk when <see cref="MemoryBudgetBytes"/> is set, the chunk otherwise. At least 1.</summary>
    public int ChunkSize { get; init; } = 32;

    /// <summary>Parameter-space step length for <see cref="ScoringMethod.FiniteDifference"/>. At least 1e-8.</summary>
    public double FiniteDifferenceStep { get; init; } = 1e-2;

    /// <summary>Cut scoring chunks from the candidates sorted by length, longest first (default true), so that each batched pass
    /// holds little padding; the scores do not depend on it beyond rounding. With a memory budget the probed example is then the longest.</summary>
    public bool LengthBucketing { get; init; } = true;

    /// <summary>Examples of the current weighting used to form the inner objective for Hessian-vector products. At least 1.</summary>
    public int HessianBatchSize { get; init; } = 32;

    internal void Validate(string path)
    {
        Require.Defined(Method, $"{path}.Method");
        Require.AtLeastOne(ChunkSize, $"{path}.ChunkSize");
        if (MemoryBudgetBytes is { } budget)
            Require.That(budget >= 1L << 20, $"{path}.MemoryBudgetBytes", budget, "must be at least 1 MiB (1048576 bytes), or null for a fixed chunk size");
        Require.Positive(FiniteDifferenceStep, $"{path}.FiniteDifferenceStep");
        Require.That(FiniteDifferenceStep >= 1e-8, $"{path}.FiniteDifferenceStep", FiniteDifferenceStep,
            "must be at least 1e-8 (smaller steps vanish in rounding and every score comes out 0)");
        Require.AtLeastOne(HessianBatchSize, $"{path}.HessianBatchSize");
    }

    internal InfluenceScorer CreateScorer(Microsoft.Extensions.Logging.ILogger? logger = null) => MemoryBudgetBytes is { } budget
        ? InfluenceScorer.WithMemoryBudget(Method, budget, ChunkSize, FiniteDifferenceStep, logger, LengthBucketing)
        : new(Method, ChunkSize, FiniteDifferenceStep, LengthBucketing);
}
