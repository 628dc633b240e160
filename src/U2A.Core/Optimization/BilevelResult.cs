namespace U2A.Core.Optimization;

/// <summary>The outcome of <see cref="BilevelOptimizer.Run"/>.</summary>
/// <param name="InitialScores">Influence score of every pool example at the starting parameters (s_i = -dJ/dw_i).</param>
/// <param name="SelectedIndices">Pool indices of the unlearned examples.</param>
/// <param name="Weights">Final weights, aligned with <paramref name="SelectedIndices"/>.</param>
/// <param name="History">Iteration 0 (the start) and each completed outer iteration.</param>
/// <param name="BestIteration">The iteration with the highest PA score; its parameters are in the model when <see cref="StoppingOptions.RestoreBestParameters"/>.</param>
/// <param name="StopReason">Why the loop ended.</param>
/// <param name="PhaseTimes">Wall-clock time spent in each phase.</param>
public sealed record BilevelResult(
    IReadOnlyList<double> InitialScores,
    IReadOnlyList<int> SelectedIndices,
    IReadOnlyList<double> Weights,
    IReadOnlyList<OuterIterationRecord> History,
    int BestIteration,
    string StopReason,
    IReadOnlyDictionary<BilevelPhase, TimeSpan> PhaseTimes);
