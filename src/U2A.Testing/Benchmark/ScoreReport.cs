namespace U2A.Testing.Benchmark;

/// <summary>Influence scores of one seed's pool with the hidden truth.</summary>
public sealed record ScoreReport(int Seed, double[] Scores, bool[] IsTrueNegative);
