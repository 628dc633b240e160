using U2A.Core.Influence;
using U2A.Core.Training;

namespace U2A.Core.Optimization;

/// <summary>
/// Settings of the U2A outer loop (<see cref="BilevelOptimizer"/>). Defaults follow the U2A reference code where it
/// has one (T = 3 outer iterations, weights learning rate 1e-2, batch 8, at most 100 inner steps, AdamW with a cosine
/// schedule); <see cref="Validate"/> checks every field once and names the bad one.
/// </summary>
public sealed record BilevelOptions
{
    /// <summary>T: outer iterations (inner unlearning, then re-scoring and re-weighting). At least 1.</summary>
    public int OuterIterations { get; init; } = 3;

    /// <summary>K: inner unlearning steps per outer iteration. At least 1.</summary>
    public int InnerSteps { get; init; } = 100;

    /// <summary>Examples per inner step, drawn from the selection in a seeded order. At least 1.</summary>
    public int InnerBatchSize { get; init; } = 8;

    /// <summary>The inner optimiser (AdamW by default) and its learning rate.</summary>
    public OptimizerSettings InnerOptimizer { get; init; } = new() { LearningRate = 1e-4 };

    /// <summary>The inner learning-rate schedule, restarted each outer iteration.</summary>
    public LearningRateSchedule InnerSchedule { get; init; } = LearningRateSchedule.Cosine();

    /// <summary>Gradient clipping of the inner steps (global norm), or null for none.</summary>
    public double? InnerMaxGradNorm { get; init; } = 1.0;

    /// <summary>eta: the mirror-descent step on the weights. Positive.</summary>
    public double WeightLearningRate { get; init; } = 1e-2;

    /// <summary>beta_s: the sparsity penalty <c>beta_s sum sqrt(w_i)</c> of the weight update. Non-negative.</summary>
    public double SparsityPenalty { get; init; }

    /// <summary>Whether the weights are updated by mirror descent after each inner run (false: keep the starting weights).</summary>
    public bool Reweight { get; init; } = true;

    /// <summary>How influence scores are computed.</summary>
    public ScoringMethod ScoringMethod { get; init; } = ScoringMethod.BatchedExact;

    /// <summary>Candidates per batched scoring pass. At least 1.</summary>
    public int ScoringChunkSize { get; init; } = 32;

    /// <summary>Parameter-space step length for <see cref="ScoringMethod.FiniteDifference"/>. Positive.</summary>
    public double FiniteDifferenceStep { get; init; } = 1e-2;

    /// <summary>Examples of the current weighting used to form the inner objective for Hessian-vector products. At least 1.</summary>
    public int HessianBatchSize { get; init; } = 32;

    /// <summary>Stop an inner run when the forget NLL (token-mean NLL of the step's batch) exceeds this for <see cref="ForgetBoundPatience"/> consecutive steps; null: no bound.</summary>
    public double? MaxForgetNll { get; init; }

    /// <summary>Consecutive steps over <see cref="MaxForgetNll"/> that stop an inner run (reference: 4). At least 1.</summary>
    public int ForgetBoundPatience { get; init; } = 4;

    /// <summary>Stop the outer loop when the PA score has not improved for this many outer iterations. At least 1.</summary>
    public int PaPatience { get; init; } = 1;

    /// <summary>At the end, put back the parameters of the outer iteration with the best PA score (the start included).</summary>
    public bool RestoreBestParameters { get; init; } = true;

    /// <summary>Seed of the data order and of torch's generator; each outer iteration derives its own from it.</summary>
    public long Seed { get; init; }

    /// <summary>Where to write a checkpoint after every outer iteration, or null for none. The folder keeps the newest two
    /// checksummed generations and survives a kill at any instant (see <see cref="BilevelCheckpoint"/>); one run per folder.</summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>Validates every field against a pool of <paramref name="poolSize"/> candidates.</summary>
    /// <exception cref="ArgumentException">A field is out of range; the message names it.</exception>
    public void Validate(int poolSize)
    {
        static void Require(bool ok, string field, object? value, string rule)
        {
            if (!ok) throw new ArgumentException($"BilevelOptions.{field} {rule}, got {value}.", field);
        }
        Require(poolSize >= 1, "pool", poolSize, "must hold at least one negative example (the forget pool is empty)");
        Require(OuterIterations >= 1, nameof(OuterIterations), OuterIterations, "must be at least 1");
        Require(InnerSteps >= 1, nameof(InnerSteps), InnerSteps, "must be at least 1");
        Require(InnerBatchSize >= 1, nameof(InnerBatchSize), InnerBatchSize, "must be at least 1");
        Require(InnerOptimizer is not null, nameof(InnerOptimizer), "null", "must be set");
        Require(InnerSchedule is not null, nameof(InnerSchedule), "null", "must be set");
        InnerOptimizer!.Validate();
        Require(InnerOptimizer.LearningRate > 0, "InnerOptimizer.LearningRate", InnerOptimizer.LearningRate, "must be positive (a zero learning rate unlearns nothing)");
        InnerSchedule!.Validate();
        Require(InnerMaxGradNorm is null || (InnerMaxGradNorm > 0 && double.IsFinite(InnerMaxGradNorm.Value)), nameof(InnerMaxGradNorm), InnerMaxGradNorm, "must be positive and finite, or null");
        Require(WeightLearningRate > 0 && double.IsFinite(WeightLearningRate), nameof(WeightLearningRate), WeightLearningRate, "must be positive and finite");
        Require(SparsityPenalty >= 0 && double.IsFinite(SparsityPenalty), nameof(SparsityPenalty), SparsityPenalty, "must be non-negative and finite");
        Require(Enum.IsDefined(ScoringMethod), nameof(ScoringMethod), ScoringMethod, "must be a defined method");
        Require(ScoringChunkSize >= 1, nameof(ScoringChunkSize), ScoringChunkSize, "must be at least 1");
        Require(FiniteDifferenceStep > 0 && double.IsFinite(FiniteDifferenceStep), nameof(FiniteDifferenceStep), FiniteDifferenceStep, "must be positive and finite");
        Require(HessianBatchSize >= 1, nameof(HessianBatchSize), HessianBatchSize, "must be at least 1");
        Require(MaxForgetNll is null || double.IsFinite(MaxForgetNll.Value), nameof(MaxForgetNll), MaxForgetNll, "must be finite, or null");
        Require(ForgetBoundPatience >= 1, nameof(ForgetBoundPatience), ForgetBoundPatience, "must be at least 1");
        Require(PaPatience >= 1, nameof(PaPatience), PaPatience, "must be at least 1");
    }
}
