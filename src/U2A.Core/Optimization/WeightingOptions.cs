namespace U2A.Core.Optimization;

/// <summary>How U2A re-weights the selected examples after each inner run (mirror descent, u2a-method section 7).</summary>
public sealed record WeightingOptions
{
    /// <summary>Whether the weights are updated by mirror descent after each inner run (false: keep the starting weights).</summary>
    public bool Reweight { get; init; } = true;

    /// <summary>eta: the mirror-descent step on the weights. Positive.</summary>
    public double LearningRate { get; init; } = 1e-2;

    /// <summary>beta_s: the sparsity penalty <c>beta_s sum sqrt(w_i)</c> of the weight update. Non-negative.</summary>
    public double SparsityPenalty { get; init; }

    internal void Validate(string path)
    {
        Require.Positive(LearningRate, $"{path}.LearningRate");
        Require.NonNegative(SparsityPenalty, $"{path}.SparsityPenalty");
    }
}
