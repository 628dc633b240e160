namespace U2A.Core.Optimization;

/// <summary>A progress report of <see cref="BilevelOptimizer"/>.</summary>
/// <param name="Phase">What is running.</param>
/// <param name="OuterIteration">0 before the first inner run, then 1..T.</param>
/// <param name="Step">The inner step (1-based) during <see cref="BilevelPhase.Unlearn"/>, else 0.</param>
/// <param name="TotalSteps">Inner steps per outer iteration.</param>
/// <param name="Objective">The latest J (lower is better), if known.</param>
/// <param name="PaScore">The latest PA score (higher is better), if known.</param>
/// <param name="ForgetLoss">The latest weighted forget loss of an inner step, if known.</param>
public sealed record BilevelProgress(BilevelPhase Phase, int OuterIteration, int Step, int TotalSteps, double? Objective, double? PaScore, double? ForgetLoss);
