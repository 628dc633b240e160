using System.CommandLine;
using U2A.Cli.Pipeline;

namespace U2A.Cli;

/// <summary>The options that define the problem, shared by score, prepare, run and eval (each command gets its own instances).</summary>
public sealed class PipelineOptions
{
    /// <summary>--model DIR.</summary>
    public Option<string> Model { get; } = new("--model") { Description = "Hugging Face model folder (config.json, model.safetensors; tokenizer.json, tokenizer.model or vocab.json + merges.txt; tokenizer_config.json)", Required = true };
    /// <summary>--pool FILE.</summary>
    public Option<string> Pool { get; }
    /// <summary>--prefs FILE.</summary>
    public Option<string> Prefs { get; } = new("--prefs") { Description = "preference pairs (held out) for J, the DPO loss", Required = true };
    /// <summary>--format.</summary>
    public Option<string> Format { get; } = new("--format") { Description = "format of the pool file: hh-rlhf, pku, ultrafeedback, jsonl", DefaultValueFactory = _ => "hh-rlhf" };
    /// <summary>--prefs-format.</summary>
    public Option<string?> PrefsFormat { get; } = new("--prefs-format") { Description = "format of the preference file (default: --format)" };
    /// <summary>--template.</summary>
    public Option<string?> Template { get; } = new("--template") { Description = "prompt format: model (the folder's chat template from tokenizer_config.json: Qwen3/ChatML, Llama 3), plain, human-assistant, chatml (default: plain for hh-rlhf, else human-assistant)" };
    /// <summary>--max-length.</summary>
    public Option<int> MaxLength { get; } = new("--max-length") { Description = "longest sequence in tokens; prompts are cut from the left", DefaultValueFactory = _ => 512 };
    /// <summary>--truncation.</summary>
    public Option<string> Truncation { get; } = new("--truncation") { Description = "over --max-length: prompt (cut the prompt from the left), response (then the response from the right), none (error)", DefaultValueFactory = _ => "prompt" };
    /// <summary>--unlearner.</summary>
    public Option<string> Unlearner { get; } = new("--unlearner") { Description = "ga, graddiff, npo, simnpo", DefaultValueFactory = _ => "npo" };
    /// <summary>--unlearner-beta.</summary>
    public Option<double?> UnlearnerBeta { get; } = new("--unlearner-beta") { Description = "NPO / SimNPO beta (default 0.1 / 4.5)" };
    /// <summary>--dpo-beta.</summary>
    public Option<double> DpoBeta { get; } = new("--dpo-beta") { Description = "beta of the DPO loss J", DefaultValueFactory = _ => 0.3 };
    /// <summary>--regularizer.</summary>
    public Option<double> Regularizer { get; } = new("--regularizer") { Description = "lambda of the inner term lambda/2 ||theta - theta_0||^2 (0: none)", DefaultValueFactory = _ => 0.1 };
    /// <summary>--estimator.</summary>
    public Option<string> Estimator { get; } = new("--estimator") { Description = "hypergradient estimator: identity, cg, neumann", DefaultValueFactory = _ => "identity" };
    /// <summary>--damping.</summary>
    public Option<double> Damping { get; } = new("--damping") { Description = "CG damping", DefaultValueFactory = _ => 0.1 };
    /// <summary>--estimator-iterations.</summary>
    public Option<int> EstimatorIterations { get; } = new("--estimator-iterations") { Description = "CG / Neumann iterations", DefaultValueFactory = _ => 20 };
    /// <summary>--neumann-alpha.</summary>
    public Option<double> NeumannAlpha { get; } = new("--neumann-alpha") { Description = "Neumann step", DefaultValueFactory = _ => 0.01 };
    /// <summary>--scoring.</summary>
    public Option<string> Scoring { get; } = new("--scoring") { Description = "scoring method: exact (batched double backward), loop (per example), fd (finite differences)", DefaultValueFactory = _ => "exact" };
    /// <summary>--chunk-size.</summary>
    public Option<int> ChunkSize { get; } = new("--chunk-size") { Description = "examples per scoring pass (also the unit of shards)", DefaultValueFactory = _ => 32 };
    /// <summary>--hessian-batch.</summary>
    public Option<int> HessianBatch { get; } = new("--hessian-batch") { Description = "examples in the Hessian sample of cg / neumann", DefaultValueFactory = _ => 32 };
    /// <summary>--full.</summary>
    public Option<bool> Full { get; } = new("--full") { Description = "train and score all weights instead of LoRA adapters" };
    /// <summary>--lora-rank.</summary>
    public Option<int> LoraRank { get; } = new("--lora-rank") { Description = "LoRA rank", DefaultValueFactory = _ => 8 };
    /// <summary>--lora-alpha.</summary>
    public Option<double> LoraAlpha { get; } = new("--lora-alpha") { Description = "LoRA alpha", DefaultValueFactory = _ => 16 };
    /// <summary>--targets.</summary>
    public Option<string?> Targets { get; } = new("--targets") { Description = "comma-separated LoRA target modules (default: c_attn for GPT-2, q_proj,v_proj otherwise)" };
    /// <summary>--seed.</summary>
    public Option<long> Seed { get; } = new("--seed") { Description = "seed of Hessian samples, data order and LoRA initialisation", DefaultValueFactory = _ => 0 };

    /// <summary>Creates the options; the pool is required unless <paramref name="poolOptional"/>.</summary>
    public PipelineOptions(bool poolOptional = false)
    {
        Pool = new("--pool") { Description = "the pool of negatives (candidates for unlearning)", Required = !poolOptional };
    }

    /// <summary>Adds every option to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Model, Pool, Prefs, Format, PrefsFormat, Template, MaxLength, Truncation, Unlearner, UnlearnerBeta, DpoBeta,
                     Regularizer, Estimator, Damping, EstimatorIterations, NeumannAlpha, Scoring, ChunkSize, HessianBatch, Full, LoraRank, LoraAlpha, Targets, Seed })
            command.Options.Add(o);
    }

    /// <summary>The settings given on the command line, validated.</summary>
    public PipelineSettings Read(ParseResult r) => new PipelineSettings
    {
        ModelDir = r.GetValue(Model)!, PoolFile = r.GetValue(Pool), PrefsFile = r.GetValue(Prefs),
        Format = r.GetValue(Format)!, PrefsFormat = r.GetValue(PrefsFormat), Template = r.GetValue(Template), MaxLength = r.GetValue(MaxLength), Truncation = r.GetValue(Truncation)!,
        Unlearner = r.GetValue(Unlearner)!, UnlearnerBeta = r.GetValue(UnlearnerBeta), DpoBeta = r.GetValue(DpoBeta), Regularizer = r.GetValue(Regularizer),
        Estimator = r.GetValue(Estimator)!, Damping = r.GetValue(Damping), EstimatorIterations = r.GetValue(EstimatorIterations),
        NeumannAlpha = r.GetValue(NeumannAlpha), ScoringMethod = r.GetValue(Scoring)!, ChunkSize = r.GetValue(ChunkSize),
        HessianBatchSize = r.GetValue(HessianBatch), Full = r.GetValue(Full), LoraRank = r.GetValue(LoraRank), LoraAlpha = r.GetValue(LoraAlpha),
        Targets = r.GetValue(Targets)?.Split(',', StringSplitOptions.TrimEntries), Seed = r.GetValue(Seed),
    }.Validate();
}

/// <summary>Options every command has: output, device, threads.</summary>
public sealed class CommonOptions
{
    /// <summary>--quiet.</summary>
    public Option<bool> Quiet { get; } = new("--quiet") { Description = "plain log lines instead of progress bars and tables" };
    /// <summary>--device.</summary>
    public Option<string> Device { get; } = new("--device") { Description = "cpu or cuda (cuda:N)", DefaultValueFactory = _ => "cpu" };
    /// <summary>--threads.</summary>
    public Option<int> Threads { get; } = new("--threads") { Description = "torch CPU threads; 1 (the default) gives bitwise-reproducible scores on CPU", DefaultValueFactory = _ => 1 };

    /// <summary>Adds the options.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(Quiet);
        command.Options.Add(Device);
        command.Options.Add(Threads);
    }
}
