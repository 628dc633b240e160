using U2A.Core.Alignment;
using U2A.Core.Data;
using U2A.Core.Models;
using U2A.Core.Models.Checkpoints;
using U2A.Core.Models.Lora;
using U2A.Core.Tokenization;
using U2A.Core.Unlearning;
using static TorchSharp.torch;

namespace U2A.Cli.Pipeline;

/// <summary>
/// A model folder opened for a command: the base model, the trained model (LoRA adapters over it, or the base model itself
/// with <c>--full</c>), the reference policy <c>pi_ref</c> (adapters off, or a snapshot of the starting weights), the
/// tokenizer and the collator. Builds the pool, preference and inner-objective parts from records.
/// </summary>
public sealed class Session : IDisposable
{
    private readonly ParameterSnapshotReference? _snapshot;
    private readonly List<IDisposable> _owned = new();

    private Session(PipelineSettings settings, IHfCheckpointModel baseModel, LoraModel? lora, ITextTokenizer tokenizer)
    {
        Settings = settings;
        Base = baseModel;
        Lora = lora;
        Tokenizer = tokenizer;
        if (lora is not null) Reference = lora.AsReferencePolicy();
        else Reference = _snapshot = new ParameterSnapshotReference(baseModel);
        var encoder = settings.UsesModelChatTemplate
            ? new PromptResponseEncoder(tokenizer, ModelFolder.LoadChatFormat(settings.ModelDir))
            : new PromptResponseEncoder(tokenizer, settings.PromptTemplate);
        Collator = new SequenceCollator(encoder,
            new CollateOptions { MaxLength = settings.MaxLength, Truncation = settings.TruncationPolicy, Device = baseModel.Device });
    }

    /// <summary>The settings.</summary>
    public PipelineSettings Settings { get; }
    /// <summary>The loaded checkpoint.</summary>
    public IHfCheckpointModel Base { get; }
    /// <summary>The adapters, unless <c>--full</c>.</summary>
    public LoraModel? Lora { get; }
    /// <summary>The model whose trainable parameters are theta.</summary>
    public ICausalLM Model => (ICausalLM?)Lora ?? Base;
    /// <summary>pi_ref.</summary>
    public IReferencePolicy Reference { get; private set; }

    /// <summary>Replaces pi_ref (before any batch is built), e.g. by a separate reference model.</summary>
    public void UseReference(IReferencePolicy reference) => Reference = reference;
    /// <summary>The tokenizer of the folder.</summary>
    public ITextTokenizer Tokenizer { get; }
    /// <summary>Prompt/response collation with the settings' template and maximum length.</summary>
    public SequenceCollator Collator { get; }

    /// <summary>Opens the model folder; with <paramref name="adapterFile"/> the adapters are read from it instead of created fresh.</summary>
    public static Session Open(PipelineSettings settings, Device device, string? adapterFile = null)
    {
        var baseModel = ModelFolder.LoadModel(settings.ModelDir, device);
        try
        {
            var tokenizer = ModelFolder.LoadTokenizer(settings.ModelDir);
            if (tokenizer.VocabSize > ModelVocabulary(baseModel))
                throw new UsageException("--model", $"the tokenizer of '{settings.ModelDir}' has {tokenizer.VocabSize} ids but the model's embedding has {ModelVocabulary(baseModel)} rows.");
            LoraModel? lora = null;
            if (adapterFile is not null)
            {
                if (!File.Exists(adapterFile)) throw new UsageException("--adapter", $"the file '{adapterFile}' does not exist.");
                lora = LoraModel.FromAdapterFile(baseModel, adapterFile);
            }
            else if (!settings.Full)
            {
                lora = new LoraModel(baseModel, new LoraOptions
                {
                    TargetModules = settings.TargetsFor(baseModel.Config.ModelType).ToArray(),
                    Rank = settings.LoraRank, Alpha = settings.LoraAlpha, Seed = settings.Seed,
                });
            }
            ((ICausalLM?)lora ?? baseModel).SetTraining(false);
            return new Session(settings, baseModel, lora, tokenizer);
        }
        catch
        {
            baseModel.Dispose();
            throw;
        }
    }

    private static long ModelVocabulary(IHfCheckpointModel model) =>
        model.HfTensors.Where(b => b.Name.EndsWith("wte.weight", StringComparison.Ordinal) || b.Name.EndsWith("embed_tokens.weight", StringComparison.Ordinal))
            .Select(b => b.Parameter.shape[0]).DefaultIfEmpty(long.MaxValue).First();

    /// <summary>The forget pool of <paramref name="examples"/>, with reference log-probs computed in chunks of the scoring chunk
    /// size when the unlearner needs them (so a shard's chunks, aligned to that size, give the same numbers as the whole pool's).</summary>
    public ForgetBatch Pool(IReadOnlyList<NegativeExample> examples, bool withReference)
    {
        if (examples.Count == 0) throw new CliFailure("the pool holds no negatives (every record was skipped or the slice is empty).");
        var tokens = Collator.Negatives(examples);
        return withReference ? ForgetBatch.WithReference(tokens, Reference, Settings.ChunkSize) : new ForgetBatch(tokens);
    }

    /// <summary>Held-out pairs with cached reference log-probs.</summary>
    public PreferenceBatch Prefs(IReadOnlyList<PreferencePair> pairs)
    {
        if (pairs.Count == 0) throw new CliFailure("the preference file holds no pairs (every record was skipped).");
        var (chosen, rejected) = Collator.Preferences(pairs);
        return PreferenceBatch.WithReference(chosen, rejected, Reference);
    }

    /// <summary>The inner objective: the unlearner plus a parameter regulariser (GradDiff: gradient ascent plus the NLL of the
    /// preference file's chosen responses as retain data). The session owns and disposes it.</summary>
    public InnerObjective Inner(IReadOnlyList<PreferencePair>? retainPairs)
    {
        var terms = new List<IInnerTerm>();
        if (Settings.Regularizer > 0)
        {
            var regularizer = new ParameterRegularizer(Model, new ParameterRegularizerOptions(Settings.Regularizer));
            _owned.Add(regularizer);
            terms.Add(regularizer);
        }
        if (Settings.Unlearner == "graddiff")
        {
            if (retainPairs is null || retainPairs.Count == 0) throw new UsageException("--prefs", "graddiff needs retain data: the chosen responses of the preference file.");
            var gradDiff = GradDiff.WithRetainNll(Collator.Retain(retainPairs.Select(p => p.ToRetain()).ToArray()), extraTerms: terms);
            _owned.Add(gradDiff);
            return gradDiff;
        }
        var inner = new InnerObjective(Settings.CreateUnlearner(), terms);
        _owned.Add(inner);
        return inner;
    }

    /// <summary>Whether the unlearner needs the pool's reference log-probs.</summary>
    public bool NeedsReference => Settings.CreateUnlearner().NeedsReference && Settings.Unlearner != "graddiff";

    /// <inheritdoc />
    public void Dispose()
    {
        for (int i = _owned.Count - 1; i >= 0; i--) _owned[i].Dispose();
        Lora?.Dispose();
        _snapshot?.Dispose();
        Base.Dispose();
    }
}
