namespace U2A.Core.Optimization;

/// <summary>The phases of the U2A outer loop.</summary>
public enum BilevelPhase
{
    /// <summary>Evaluating J and the PA score.</summary>
    Evaluate,
    /// <summary>Estimating the influence direction and scoring candidates.</summary>
    Score,
    /// <summary>Choosing the negatives to unlearn.</summary>
    Select,
    /// <summary>Weighted inner unlearning steps.</summary>
    Unlearn,
    /// <summary>The mirror-descent weight update.</summary>
    Reweight,
    /// <summary>Writing a checkpoint.</summary>
    Checkpoint,
}

/// <summary>A progress report of <see cref="BilevelOptimizer"/>.</summary>
/// <param name="Phase">What is running.</param>
/// <param name="OuterIteration">0 before the first inner run, then 1..T.</param>
/// <param name="Step">The inner step (1-based) during <see cref="BilevelPhase.Unlearn"/>, else 0.</param>
/// <param name="TotalSteps">Inner steps per outer iteration.</param>
/// <param name="Objective">The latest J (lower is better), if known.</param>
/// <param name="PaScore">The latest PA score (higher is better), if known.</param>
/// <param name="ForgetLoss">The latest weighted forget loss of an inner step, if known.</param>
public sealed record BilevelProgress(BilevelPhase Phase, int OuterIteration, int Step, int TotalSteps, double? Objective, double? PaScore, double? ForgetLoss);

/// <summary>What one outer iteration did.</summary>
/// <param name="Iteration">0 for the starting point, then 1..T.</param>
/// <param name="Objective">J after the iteration.</param>
/// <param name="PaScore">PA score after the iteration.</param>
/// <param name="InnerSteps">Inner steps run (fewer than K when the forget bound stopped the run).</param>
/// <param name="ForgetLoss">Mean weighted forget loss of the last inner step (NaN at iteration 0).</param>
/// <param name="ForgetNll">Mean forget NLL of the last inner step (NaN at iteration 0).</param>
/// <param name="Weights">The weights after the iteration's update, aligned with the selection.</param>
public sealed record OuterIterationRecord(int Iteration, double Objective, double PaScore, int InnerSteps, double ForgetLoss, double ForgetNll, IReadOnlyList<double> Weights);
