namespace U2A.Testing.Benchmark;

/// <summary>One seed of one method at its chosen learning rate.</summary>
public sealed record SeedResult(int Seed, double PaScore, double ValidationPa, double GreedyPa, double WinRate, double WellFormedMass,
    double ForgetNll, double RetainNll, int UpdateSteps, int? StepsToTarget, double? SecondsToTarget, double? SelectionPrecision, int? SelectedCount);
