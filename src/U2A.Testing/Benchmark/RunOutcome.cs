namespace U2A.Testing.Benchmark;

/// <summary>One method at one learning rate on one seed.</summary>
/// <param name="Method">The method's name.</param>
/// <param name="LearningRateIndex">Index into the settings' learning-rate grid.</param>
/// <param name="Trajectory">Validation PA after each round (round 0: the start).</param>
/// <param name="BestValidation">Validation PA at the kept round.</param>
/// <param name="UpdateSteps">Update steps up to the kept round.</param>
/// <param name="Diverged">Whether the run hit a non-finite loss (it then keeps the starting parameters).</param>
/// <param name="Test">Test metrics at the kept parameters.</param>
public sealed record RunOutcome(string Method, int LearningRateIndex, TrajectoryPoint[] Trajectory, double BestValidation, int UpdateSteps, bool Diverged, SeedResult Test);
