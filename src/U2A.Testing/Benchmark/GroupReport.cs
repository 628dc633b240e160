namespace U2A.Testing.Benchmark;

/// <summary>One C1 group.</summary>
public sealed record GroupReport(int Seed, int Group, int Size, int TrueNegatives, double DeltaPa);
