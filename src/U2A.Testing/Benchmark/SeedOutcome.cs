namespace U2A.Testing.Benchmark;

/// <summary>One seed's results, serializable (JSON) so that seeds can run in separate processes and be joined by <see cref="SafetyBenchmark.BuildReport"/>.</summary>
public sealed record SeedOutcome
{
    /// <summary>The task seed.</summary>
    public required int Seed { get; init; }
    /// <summary>Starting model's expected reward on the test prompts.</summary>
    public required double StartPa { get; init; }
    /// <summary>Starting model's well-formed mass on the test prompts.</summary>
    public required double StartWellFormedMass { get; init; }
    /// <summary>Starting model's expected reward on the validation prompts.</summary>
    public required double StartValidation { get; init; }
    /// <summary>Starting model's greedy-answer reward on the test prompts.</summary>
    public required double StartGreedy { get; init; }
    /// <summary>Starting model's well-formed mass on the train prompts.</summary>
    public required double StartMassTrain { get; init; }
    /// <summary>Every method at every learning rate of the grid.</summary>
    public required RunOutcome[] Runs { get; init; }
    /// <summary>The C1 groups.</summary>
    public required GroupReport[] Groups { get; init; }
    /// <summary>U2A's influence scores at the start.</summary>
    public required double[] Scores { get; init; }
    /// <summary>The hidden truth of the pool.</summary>
    public required bool[] IsTrueNegative { get; init; }

    /// <summary>The run of <paramref name="method"/> at learning-rate index <paramref name="learningRate"/>, or null.</summary>
    public RunOutcome? Find(string method, int learningRate) => Runs.FirstOrDefault(r => r.Method == method && r.LearningRateIndex == learningRate);
}
