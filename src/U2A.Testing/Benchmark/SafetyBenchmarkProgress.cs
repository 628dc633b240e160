namespace U2A.Testing.Benchmark;

/// <summary>A progress report of a benchmark run.</summary>
/// <param name="Message">What was just done.</param>
/// <param name="Fraction">Share of the run's method runs completed, in [0, 1].</param>
public sealed record SafetyBenchmarkProgress(string Message, double Fraction);
