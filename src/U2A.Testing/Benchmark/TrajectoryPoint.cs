namespace U2A.Testing.Benchmark;

/// <summary>A point of a PA-against-steps curve.</summary>
public sealed record TrajectoryPoint(int Steps, double ValidationPa, double Seconds);
