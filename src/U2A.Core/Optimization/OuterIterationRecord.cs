namespace U2A.Core.Optimization;

/// <summary>What one outer iteration did.</summary>
/// <param name="Iteration">0 for the starting point, then 1..T.</param>
/// <param name="Objective">J after the iteration.</param>
/// <param name="PaScore">PA score after the iteration.</param>
/// <param name="InnerSteps">Inner steps run (fewer than K when the forget bound stopped the run).</param>
/// <param name="ForgetLoss">Mean weighted forget loss of the last inner step (NaN at iteration 0).</param>
/// <param name="ForgetNll">Mean forget NLL of the last inner step (NaN at iteration 0).</param>
/// <param name="Weights">The weights after the iteration's update, aligned with the selection.</param>
public sealed record OuterIterationRecord(int Iteration, double Objective, double PaScore, int InnerSteps, double ForgetLoss, double ForgetNll, IReadOnlyList<double> Weights);
