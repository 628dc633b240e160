using System.Text.Json;
using System.Text.Json.Serialization;

namespace U2A.Testing.Benchmark;

/// <summary>The result of a <see cref="SafetyBenchmark"/> run, written as <c>report.json</c> (snake_case names).</summary>
public sealed record SafetyBenchmarkReport
{
    /// <summary>The task seeds.</summary>
    public required int[] Seeds { get; init; }
    /// <summary>The mislabeled share of the forget pool.</summary>
    public required double MislabeledShare { get; init; }
    /// <summary>The primary PA metric: "expected_reward" (exact expected known reward on the test prompts).</summary>
    public string PaMetric { get; init; } = "expected_reward";
    /// <summary>Expected reward of the starting model on the test prompts, mean over seeds.</summary>
    public required double StartPa { get; init; }
    /// <summary>Its standard deviation over seeds.</summary>
    public required double StartPaStd { get; init; }
    /// <summary>Greedy-answer reward of the starting model on the test prompts, mean over seeds.</summary>
    public required double StartGreedyPa { get; init; }
    /// <summary>Well-formed mass of the starting model on the test prompts, mean over seeds.</summary>
    public required double StartWellFormedMass { get; init; }
    /// <summary>Well-formed mass of the starting model on the train prompts, mean over seeds.</summary>
    public required double StartWellFormedMassTrain { get; init; }
    /// <summary>The target on validation prompts: the starting score + 90% of DPO's improvement, mean over seeds.</summary>
    public required double TargetPa { get; init; }
    /// <summary>Every method at its learning rate chosen on validation prompts.</summary>
    public required MethodReport[] Methods { get; init; }
    /// <summary>The C1 analysis: each group's change of the test PA score when unlearned alone from the starting model.</summary>
    public required GroupReport[] Groups { get; init; }
    /// <summary>Influence scores at the start (U2A's identity-estimator scores) with the hidden truth, per seed.</summary>
    public required ScoreReport[] Scores { get; init; }
    /// <summary>The paper's claims, measured.</summary>
    public required ClaimReport Claims { get; init; }
    /// <summary>The run's settings.</summary>
    public required SafetyBenchmarkSettings Settings { get; init; }
    /// <summary>Wall time of the whole run, in seconds.</summary>
    public required double TotalSeconds { get; init; }

    /// <summary>The JSON options of the report: snake_case, indented, nulls written.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The report as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Reads a report written by <see cref="ToJson"/>.</summary>
    public static SafetyBenchmarkReport FromJson(string json) =>
        JsonSerializer.Deserialize<SafetyBenchmarkReport>(json, JsonOptions) ?? throw new JsonException("report.json holds null.");
}
