namespace U2A.Core.Optimization;

/// <summary>
/// Settings of the U2A outer loop (<see cref="BilevelOptimizer"/>), grouped by the step they tune: <see cref="Inner"/>
/// (the unlearning), <see cref="Scoring"/> (influence scores), <see cref="Weighting"/> (mirror descent on the weights) and
/// <see cref="Stopping"/>. Defaults follow the U2A reference code where it has one (T = 3 outer iterations, weights
/// learning rate 1e-2, batch 8, at most 100 inner steps, AdamW with a cosine schedule). <see cref="Validate"/> checks every
/// field once and names the bad one (for example <c>BilevelOptions.Inner.Steps</c>).
/// </summary>
public sealed record BilevelOptions
{
    /// <summary>T: outer iterations (inner unlearning, then re-scoring and re-weighting). At least 1.</summary>
    public int OuterIterations { get; init; } = 3;

    /// <summary>The inner unlearning run of each outer iteration.</summary>
    public InnerUnlearningOptions Inner { get; init; } = new();

    /// <summary>How influence scores are computed.</summary>
    public InfluenceScoringOptions Scoring { get; init; } = new();

    /// <summary>How example weights are updated between inner runs.</summary>
    public WeightingOptions Weighting { get; init; } = new();

    /// <summary>When the outer loop stops early, and which parameters it keeps.</summary>
    public StoppingOptions Stopping { get; init; } = new();

    /// <summary>Seed of the data orders and of the Hessian samples; each outer iteration derives its own from it. Nothing
    /// in the run touches a global random generator.</summary>
    public long Seed { get; init; }

    /// <summary>Where to write a checkpoint after every outer iteration, or null for none. The folder keeps the newest two
    /// checksummed generations and survives a kill at any instant (see <see cref="BilevelCheckpoint"/>); one run per folder.</summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>Validates every field against a pool of <paramref name="poolSize"/> candidates.</summary>
    /// <exception cref="ArgumentException">A field is out of range or missing; the message and <c>ParamName</c> name it.</exception>
    public void Validate(int poolSize)
    {
        Require.That(poolSize >= 1, "pool", poolSize, "must hold at least one negative example (the forget pool is empty)");
        Require.AtLeastOne(OuterIterations, "BilevelOptions.OuterIterations");
        Require.NotNull(Inner, "BilevelOptions.Inner").Validate("BilevelOptions.Inner");
        Require.NotNull(Scoring, "BilevelOptions.Scoring").Validate("BilevelOptions.Scoring");
        Require.NotNull(Weighting, "BilevelOptions.Weighting").Validate("BilevelOptions.Weighting");
        Require.NotNull(Stopping, "BilevelOptions.Stopping").Validate("BilevelOptions.Stopping");
        if (CheckpointDirectory is { } dir)
        {
            Require.That(dir.Trim().Length > 0, "BilevelOptions.CheckpointDirectory", "an empty path", "must name a folder (or be null for no checkpoints)");
            Require.That(!File.Exists(dir), "BilevelOptions.CheckpointDirectory", dir, "must name a folder, not an existing file");
        }
    }
}
