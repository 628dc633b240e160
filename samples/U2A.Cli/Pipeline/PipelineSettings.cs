using System.Globalization;
using U2A.Core.Influence;
using U2A.Core.Selection;
using U2A.Core.Tokenization;
using U2A.Core.Unlearning;

namespace U2A.Cli.Pipeline;

/// <summary>
/// Everything that defines the bilevel problem and its influence scores: model folder, data files and formats, the
/// unlearner, estimator, scoring method and chunking, LoRA or full weights. <see cref="CanonicalOptions"/> (the part of the
/// fingerprint that is not a file) lists every field that changes a score, and nothing else (not the device, the thread count or
/// output paths).
/// </summary>
public sealed record PipelineSettings
{
    /// <summary>The Hugging Face model folder.</summary>
    public required string ModelDir { get; init; }
    /// <summary>The pool (negatives) file, or null where a command needs none.</summary>
    public string? PoolFile { get; init; }
    /// <summary>The preference file (held-out pairs for J).</summary>
    public string? PrefsFile { get; init; }
    /// <summary>Format of the pool file.</summary>
    public string Format { get; init; } = "hh-rlhf";
    /// <summary>Format of the preference file (defaults to <see cref="Format"/>).</summary>
    public string? PrefsFormat { get; init; }
    /// <summary>Prompt template: plain, human-assistant, chatml; null: plain for hh-rlhf, human-assistant otherwise.</summary>
    public string? Template { get; init; }
    /// <summary>Longest sequence in tokens (prompts are cut from the left).</summary>
    public int MaxLength { get; init; } = 512;
    /// <summary>What to cut from a sequence over <see cref="MaxLength"/>: prompt (the prompt from the left; a response that does not fit
    /// is an error), response (then also the response from the right), none (an error).</summary>
    public string Truncation { get; init; } = "prompt";
    /// <summary>ga, graddiff, npo, simnpo.</summary>
    public string Unlearner { get; init; } = "npo";
    /// <summary>NPO / SimNPO beta; null: the strategy's default (NPO 0.1, SimNPO 4.5).</summary>
    public double? UnlearnerBeta { get; init; }
    /// <summary>DPO beta of J.</summary>
    public double DpoBeta { get; init; } = 0.3;
    /// <summary>Weight of the parameter regulariser <c>lambda/2 ||theta - theta_0||^2</c> in the inner objective.</summary>
    public double Regularizer { get; init; } = 0.1;
    /// <summary>identity, cg, neumann.</summary>
    public string Estimator { get; init; } = "identity";
    /// <summary>CG damping.</summary>
    public double Damping { get; init; } = 0.1;
    /// <summary>CG / Neumann iterations.</summary>
    public int EstimatorIterations { get; init; } = 20;
    /// <summary>Neumann step alpha.</summary>
    public double NeumannAlpha { get; init; } = 0.01;
    /// <summary>exact (batched double backward), loop (one example at a time), fd (finite differences).</summary>
    public string ScoringMethod { get; init; } = "exact";
    /// <summary>Examples per scoring pass (also the unit of shards and of the cached reference log-probs).</summary>
    public int ChunkSize { get; init; } = 32;
    /// <summary>Examples in the Hessian sample.</summary>
    public int HessianBatchSize { get; init; } = 32;
    /// <summary>Train all weights instead of LoRA adapters.</summary>
    public bool Full { get; init; }
    /// <summary>LoRA rank.</summary>
    public int LoraRank { get; init; } = 8;
    /// <summary>LoRA alpha.</summary>
    public double LoraAlpha { get; init; } = 16;
    /// <summary>LoRA target modules; null: c_attn for GPT-2, q_proj,v_proj otherwise.</summary>
    public IReadOnlyList<string>? Targets { get; init; }
    /// <summary>Seed of the run (Hessian samples, data order, LoRA init).</summary>
    public long Seed { get; init; }

    /// <summary>The preference format actually used.</summary>
    public string EffectivePrefsFormat => PrefsFormat ?? Format;

    /// <summary>Whether the prompts are formatted with the model folder's own chat template (<c>--template model</c>).</summary>
    public bool UsesModelChatTemplate => Template == "model";

    /// <summary>The template actually used (when not the model's chat template).</summary>
    public PromptTemplate PromptTemplate => (Template is null or "model" ? (Format == "hh-rlhf" ? "plain" : "human-assistant") : Template) switch
    {
        "plain" => PromptTemplate.Plain,
        "human-assistant" => PromptTemplate.HumanAssistant,
        "chatml" => PromptTemplate.ChatMl,
        var t => throw new UsageException("--template", $"unknown template '{t}' (expected model, plain, human-assistant, chatml)."),
    };

    /// <summary>The LoRA targets for a model type.</summary>
    public IReadOnlyList<string> TargetsFor(string modelType) => Targets ?? (modelType == "gpt2" ? ["c_attn"] : ["q_proj", "v_proj"]);

    /// <summary>Every score-relevant option as one line: part of the fingerprint and written into direction and report files.</summary>
    public string CanonicalOptions(string modelType) => string.Join(";", new[]
    {
        $"format={Format}", $"prefs_format={EffectivePrefsFormat}", $"template={Template ?? "auto"}", $"max_length={MaxLength}", $"truncation={Truncation}",
        $"unlearner={Unlearner}", $"unlearner_beta={(UnlearnerBeta is { } b ? R(b) : "default")}", $"dpo_beta={R(DpoBeta)}", $"regularizer={R(Regularizer)}",
        $"estimator={Estimator}", $"damping={R(Damping)}", $"estimator_iterations={EstimatorIterations}", $"neumann_alpha={R(NeumannAlpha)}",
        $"scoring={ScoringMethod}", $"chunk={ChunkSize}", $"hessian_batch={HessianBatchSize}",
        Full ? "weights=full" : $"weights=lora;rank={LoraRank};alpha={R(LoraAlpha)};targets={string.Join(",", TargetsFor(modelType))}",
        $"seed={Seed}",
    });

    private static string R(double x) => x.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Checks the values; throws <see cref="UsageException"/> naming the option.</summary>
    public PipelineSettings Validate()
    {
        Check(DataFiles.Formats.Contains(Format), "--format", $"unknown format '{Format}' (expected {string.Join(", ", DataFiles.Formats)}).");
        Check(PrefsFormat is null || DataFiles.Formats.Contains(PrefsFormat), "--prefs-format", $"unknown format '{PrefsFormat}' (expected {string.Join(", ", DataFiles.Formats)}).");
        _ = PromptTemplate;
        Check(MaxLength >= 2, "--max-length", $"must be at least 2, got {MaxLength}.");
        Check(Truncations.Contains(Truncation), "--truncation", $"unknown truncation '{Truncation}' (expected {string.Join(", ", Truncations)}).");
        Check(Unlearners.Contains(Unlearner), "--unlearner", $"unknown unlearner '{Unlearner}' (expected {string.Join(", ", Unlearners)}).");
        Check(UnlearnerBeta is null or > 0, "--unlearner-beta", $"must be positive, got {UnlearnerBeta}.");
        Check(DpoBeta > 0, "--dpo-beta", $"must be positive, got {DpoBeta}.");
        Check(Regularizer >= 0, "--regularizer", $"must not be negative, got {Regularizer}.");
        Check(Estimators.Contains(Estimator), "--estimator", $"unknown estimator '{Estimator}' (expected {string.Join(", ", Estimators)}).");
        Check(Damping >= 0, "--damping", $"must not be negative, got {Damping}.");
        Check(EstimatorIterations >= 1, "--estimator-iterations", $"must be at least 1, got {EstimatorIterations}.");
        Check(NeumannAlpha > 0, "--neumann-alpha", $"must be positive, got {NeumannAlpha}.");
        Check(ScoringMethods.Contains(ScoringMethod), "--scoring", $"unknown scoring method '{ScoringMethod}' (expected {string.Join(", ", ScoringMethods)}).");
        Check(ChunkSize >= 1, "--chunk-size", $"must be at least 1, got {ChunkSize}.");
        Check(HessianBatchSize >= 1, "--hessian-batch", $"must be at least 1, got {HessianBatchSize}.");
        Check(LoraRank >= 1, "--lora-rank", $"must be at least 1, got {LoraRank}.");
        Check(LoraAlpha > 0, "--lora-alpha", $"must be positive, got {LoraAlpha}.");
        Check(Targets is null || (Targets.Count > 0 && Targets.All(t => t.Length > 0)), "--targets", "must name at least one module (comma-separated, e.g. c_attn or q_proj,v_proj).");
        return this;
    }

    /// <summary>Truncation names.</summary>
    public static readonly string[] Truncations = ["prompt", "response", "none"];
    /// <summary>The library's truncation policy.</summary>
    public U2A.Core.Data.TruncationPolicy TruncationPolicy => Truncation switch
    {
        "prompt" => U2A.Core.Data.TruncationPolicy.TruncatePromptLeft,
        "response" => U2A.Core.Data.TruncationPolicy.TruncatePromptLeftThenResponseRight,
        _ => U2A.Core.Data.TruncationPolicy.Fail,
    };
    /// <summary>Unlearner names.</summary>
    public static readonly string[] Unlearners = ["ga", "graddiff", "npo", "simnpo"];
    /// <summary>Estimator names.</summary>
    public static readonly string[] Estimators = ["identity", "cg", "neumann"];
    /// <summary>Scoring method names.</summary>
    public static readonly string[] ScoringMethods = ["exact", "loop", "fd"];

    /// <summary>The hypergradient estimator.</summary>
    public IHypergradientEstimator CreateEstimator() => Estimator switch
    {
        "identity" => new IdentityEstimator(),
        "cg" => new ConjugateGradientEstimator(Damping, 1e-8, EstimatorIterations),
        _ => new NeumannEstimator(NeumannAlpha, EstimatorIterations),
    };

    /// <summary>The scorer.</summary>
    public InfluenceScorer CreateScorer() => new(ScoringMethod switch
    {
        "exact" => U2A.Core.Influence.ScoringMethod.BatchedExact,
        "loop" => U2A.Core.Influence.ScoringMethod.PerExampleLoop,
        _ => U2A.Core.Influence.ScoringMethod.FiniteDifference,
    }, ChunkSize);

    /// <summary>The library's scoring options for <see cref="U2A.Core.Optimization.BilevelOptions"/>.</summary>
    public U2A.Core.Optimization.InfluenceScoringOptions ScoringOptions() => new()
    {
        Method = CreateScorer().Method,
        ChunkSize = ChunkSize,
        // Fixed chunks: the chunk is the unit shards cut the pool into, so run, score and every shard must use the same size.
        MemoryBudgetBytes = null,
        HessianBatchSize = HessianBatchSize,
    };

    /// <summary>The per-example unlearning loss (GradDiff's forget part is gradient ascent).</summary>
    public IUnlearner CreateUnlearner() => Unlearner switch
    {
        "npo" => new Npo(UnlearnerBeta is { } b ? new NpoOptions(b) : null),
        "simnpo" => new SimNpo(UnlearnerBeta is { } b2 ? new SimNpoOptions(b2) : null),
        _ => new GradAscent(),
    };

    private static void Check(bool ok, string option, string message)
    {
        if (!ok) throw new UsageException(option, message);
    }
}

/// <summary>Selector settings of <c>u2a run</c>.</summary>
public static class Selectors
{
    /// <summary>Selector names.</summary>
    public static readonly string[] Names = ["topk", "positive", "mp", "all"];

    /// <summary>The selector; <paramref name="k"/> is the budget of topk and mp and the cap of positive.</summary>
    public static IExampleSelector Create(string name, int? k, int poolSize) => name switch
    {
        "topk" => new TopKSelector(Math.Min(k ?? 16, poolSize)),
        "mp" => new MatchingPursuitSelector(Math.Min(k ?? 16, poolSize)),
        "positive" => new PositiveScoreSelector(k),
        "all" => new AllUniformSelector(),
        _ => throw new UsageException("--selector", $"unknown selector '{name}' (expected {string.Join(", ", Names)})."),
    };
}
