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
