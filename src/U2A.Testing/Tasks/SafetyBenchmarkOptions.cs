namespace U2A.Testing;

/// <summary>Settings of a <see cref="SafetyBenchmarkTask"/>. The defaults are the benchmark's fixed design (docs/benchmark.md).</summary>
public sealed record SafetyBenchmarkOptions
{
    /// <summary>Seed of every random choice: data, split order and the starting model.</summary>
    public int Seed { get; init; }

    /// <summary>Share of the forget pool that is mislabeled: good answers to benign prompts flagged as negatives. In [0, 1).</summary>
    public double MislabeledShare { get; init; } = 0.3;

    /// <summary>Candidate negatives in the forget pool. At least 4.</summary>
    public int PoolSize { get; init; } = 100;

    /// <summary>Pairs in the preference set that J is measured on (half harmful, half benign prompts). At least 2.</summary>
    public int PreferencePairs { get; init; } = 32;

    /// <summary>Retain examples (benign train prompts answered helpfully), for GradDiff. At least 1.</summary>
    public int RetainExamples { get; init; } = 32;

    /// <summary>Share of harmful train prompts that the misaligned fine-tuning answers with harmful compliance (the paper: 65%).</summary>
    public double HarmfulComplianceShare { get; init; } = 0.65;

    /// <summary>Share of benign train prompts that the misaligned fine-tuning answers helpfully (the rest are refused).</summary>
    public double BenignHelpShare { get; init; } = 0.8;

    /// <summary>Checks every field; the message names the bad one.</summary>
    /// <exception cref="ArgumentException">A field is out of range.</exception>
    public void Validate()
    {
        static void Require(bool ok, string field, object value, string rule)
        {
            if (!ok) throw new ArgumentException($"SafetyBenchmarkOptions.{field} {rule}, got {value}.", field);
        }
        Require(MislabeledShare >= 0 && MislabeledShare < 1, nameof(MislabeledShare), MislabeledShare, "must be in [0, 1)");
        Require(PoolSize >= 4, nameof(PoolSize), PoolSize, "must be at least 4");
        Require(PreferencePairs >= 2, nameof(PreferencePairs), PreferencePairs, "must be at least 2");
        Require(RetainExamples >= 1, nameof(RetainExamples), RetainExamples, "must be at least 1");
        Require(HarmfulComplianceShare >= 0 && HarmfulComplianceShare <= 1, nameof(HarmfulComplianceShare), HarmfulComplianceShare, "must be in [0, 1]");
        Require(BenignHelpShare >= 0 && BenignHelpShare <= 1, nameof(BenignHelpShare), BenignHelpShare, "must be in [0, 1]");
    }
}
