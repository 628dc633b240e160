namespace U2A.Testing.Benchmark;

/// <summary>Settings of a <see cref="SafetyBenchmark"/> run. The defaults are the benchmark's fixed design (docs/benchmark.md).</summary>
public sealed record SafetyBenchmarkSettings
{
    /// <summary>Task seeds (one starting model each).</summary>
    public int[] Seeds { get; init; } = { 0, 1, 2 };
    /// <summary>The forget pool's mislabeled share.</summary>
    public double MislabeledShare { get; init; } = 0.3;
    /// <summary>Candidate negatives in each seed's forget pool.</summary>
    public int PoolSize { get; init; } = 100;
    /// <summary>The learning-rate grid every method gets (AdamW).</summary>
    public double[] LearningRates { get; init; } = { 1e-4, 3e-4, 1e-3 };
    /// <summary>At most this many evaluation rounds per method run (an outer iteration for the unlearning methods).</summary>
    public int Rounds { get; init; } = 8;
    /// <summary>Update steps between two evaluations, for every method (U2A's inner steps per outer iteration).</summary>
    public int StepsPerRound { get; init; } = 5;
    /// <summary>Examples (or pairs) per update step.</summary>
    public int BatchSize { get; init; } = 8;
    /// <summary>Stop a run when its validation PA has not improved for this many rounds.</summary>
    public int Patience { get; init; } = 3;
    /// <summary>C1: disjoint groups of negatives, each unlearned alone from the starting model.</summary>
    public int Groups { get; init; } = 20;
    /// <summary>C1: GA steps (full batch of the group) per group, at the middle learning rate of the grid.</summary>
    public int GroupSteps { get; init; } = 10;
    /// <summary>Pretraining steps of the starting model (the fluency stage).</summary>
    public int PretrainSteps { get; init; } = 1000;
    /// <summary>Misaligned fine-tuning steps of the starting model.</summary>
    public int FinetuneSteps { get; init; } = 250;

    /// <summary>
    /// Seeds run side by side on this many threads; default 1. Results do not depend on it, but with 2 one run in four of
    /// the default benchmark died in TorchSharp's AdamW step (a native "Expected false to be true" from Scalar.toFloat,
    /// not reproduced single-threaded), so one thread is the default.
    /// </summary>
    public int Parallelism { get; init; } = 1;

    /// <summary>Evaluate on at most this many validation and test prompts (an even spread over harmful and benign topics); null: all of them.</summary>
    public int? EvaluationPrompts { get; init; }

    /// <summary>The reduced mode for tests: one seed, two learning rates, short runs, a short starting model.</summary>
    public static SafetyBenchmarkSettings Quick => new()
    {
        Seeds = new[] { 0 }, PoolSize = 40, LearningRates = new[] { 3e-4, 1e-3 }, Rounds = 2, StepsPerRound = 2, Patience = 2, Groups = 4,
        GroupSteps = 2, PretrainSteps = 60, FinetuneSteps = 20, EvaluationPrompts = 16,
    };

    /// <summary>Checks every field; the message names the bad one.</summary>
    public void Validate()
    {
        static void Require(bool ok, string field, object value, string rule)
        {
            if (!ok) throw new ArgumentException($"SafetyBenchmarkSettings.{field} {rule}, got {value}.", field);
        }
        Require(Seeds is { Length: > 0 } && Seeds.Distinct().Count() == Seeds.Length, nameof(Seeds), Seeds is null ? "null" : string.Join(",", Seeds), "must hold at least one seed, each once");
        Require(MislabeledShare >= 0 && MislabeledShare < 1, nameof(MislabeledShare), MislabeledShare, "must be in [0, 1)");
        Require(LearningRates is { Length: > 0 } && LearningRates.All(l => l > 0 && double.IsFinite(l)), nameof(LearningRates),
            LearningRates is null ? "null" : string.Join(",", LearningRates), "must hold at least one positive finite learning rate");
        Require(PoolSize is >= 4 and <= 100_000, nameof(PoolSize), PoolSize, "must be in [4, 100000]");
        Require(PoolSize >= 2L * Groups, nameof(PoolSize), PoolSize, $"must be at least twice Groups ({Groups})");
        Require(PoolSize - (int)Math.Round(PoolSize * MislabeledShare) >= 1, nameof(MislabeledShare), MislabeledShare,
            $"must leave at least one truly harmful negative in a pool of {PoolSize}");
        Require(Parallelism >= 1, nameof(Parallelism), Parallelism, "must be at least 1");
        Require(Rounds is >= 1 and <= 10_000, nameof(Rounds), Rounds, "must be in [1, 10000]");
        Require(StepsPerRound is >= 1 and <= 100_000, nameof(StepsPerRound), StepsPerRound, "must be in [1, 100000]");
        Require(BatchSize is >= 1 and <= 100_000, nameof(BatchSize), BatchSize, "must be in [1, 100000]");
        Require(Patience >= 1, nameof(Patience), Patience, "must be at least 1");
        Require(Groups >= 2, nameof(Groups), Groups, "must be at least 2");
        Require(GroupSteps >= 1, nameof(GroupSteps), GroupSteps, "must be at least 1");
        Require(EvaluationPrompts is null or >= 2, nameof(EvaluationPrompts), EvaluationPrompts ?? 0, "must be at least 2, or null");
        Require(PretrainSteps is >= 0 and <= 1_000_000, nameof(PretrainSteps), PretrainSteps, "must be in [0, 1000000]");
        Require(FinetuneSteps is >= 0 and <= 1_000_000, nameof(FinetuneSteps), FinetuneSteps, "must be in [0, 1000000]");
    }
}
