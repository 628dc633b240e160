using U2A.Core.Alignment;
using U2A.Core.Data;
using U2A.Core.Influence;
using U2A.Core.Models;
using U2A.Core.Models.Lora;
using U2A.Core.Optimization;
using U2A.Core.Selection;
using U2A.Core.Unlearning;
using U2A.Testing;
using static TorchSharp.torch;

namespace U2A.Core.MisuseProbe;

/// <summary>
/// A tiny, fast, correct set-up (a float64 one-layer transformer, a forget pool of 4, 3 preference pairs with cached
/// reference log-probs, the DPO objective) into which a misuse case plugs one wrong part.
/// </summary>
public sealed class MisuseWorld : IDisposable
{
    public const int Vocabulary = 13;

    public MisuseWorld(int poolSize = 4, long seed = 1, bool lora = false)
    {
        Base = new TinyTransformerLM(Vocabulary, width: 8, layers: 1, heads: 2, maxLength: 16, seed: seed, dtype: ScalarType.Float64);
        Base.SetTraining(false);
        Lora = lora ? new LoraModel(Base, new LoraOptions { TargetModules = ["c_attn", "c_fc"], Rank = 2, Alpha = 4, Seed = seed }) : null;
        if (Lora is not null) Randomise(Lora, seed);
        Model = (ICausalLM?)Lora ?? Base;
        Start = new ParameterSnapshotReference(Model);
        Pool = ForgetBatch.WithReference(Batch(poolSize, seed: 10 + (int)seed), Start);
        Preferences = PreferenceBatch.WithReference(Batch(3, seed: 20), Batch(3, seed: 21), Start);
        Dpo = new DpoObjective(Preferences);
    }

    public TinyTransformerLM Base { get; }
    public LoraModel? Lora { get; }
    public ICausalLM Model { get; }
    public ParameterSnapshotReference Start { get; }
    public ForgetBatch Pool { get; }
    public PreferenceBatch Preferences { get; }
    public DpoObjective Dpo { get; }

    /// <summary>Right-padded random rows: a prompt of 1..3 tokens and a response of 1..3 tokens, ids 1..vocabulary-1.</summary>
    public static TokenBatch Batch(int rows, int seed, int vocabulary = Vocabulary)
    {
        var (ids, att, resp) = Arrays(rows, seed, vocabulary);
        return new TokenBatch(ids, att, resp);
    }

    /// <summary>The three int64 [B, T] tensors of <see cref="Batch"/>, for cases that spoil one of them.</summary>
    public static (Tensor Ids, Tensor Attention, Tensor Response) Arrays(int rows, int seed, int vocabulary = Vocabulary)
    {
        var rng = new Random(seed);
        var lengths = Enumerable.Range(0, rows).Select(_ => (Prompt: rng.Next(1, 4), Response: rng.Next(1, 4))).ToArray();
        int t = lengths.Max(l => l.Prompt + l.Response);
        var ids = new long[rows, t];
        var att = new long[rows, t];
        var resp = new long[rows, t];
        for (int b = 0; b < rows; b++)
            for (int i = 0; i < lengths[b].Prompt + lengths[b].Response; i++)
            {
                ids[b, i] = rng.Next(1, vocabulary);
                att[b, i] = 1;
                resp[b, i] = i >= lengths[b].Prompt ? 1 : 0;
            }
        return (tensor(ids), tensor(att), tensor(resp));
    }

    /// <summary>Weights 1/N as a tensor on the model's device.</summary>
    public Tensor Uniform(int n) => full(n, 1.0 / n, dtype: Model.DType, device: Model.Device);

    /// <summary>The bi-level problem of <paramref name="inner"/> (over the whole pool, uniform weights) and J of <paramref name="scorer"/> (DPO by default).</summary>
    public BilevelProblem Problem(InnerObjective inner, IAlignmentScorer? scorer = null)
    {
        var j = scorer ?? Dpo;
        return new BilevelProblem(Model.TrainableParameters,
            () => { using var w = Uniform(Pool.Count); return inner.Value(Model, Pool, w); },
            () => j.Objective(Model),
            idx => { using var batch = Pool.Select(idx); return inner.PerExampleLosses(Model, batch); },
            Pool.Count);
    }

    /// <summary>The bi-level problem with a plain unlearner and no extra inner terms.</summary>
    public BilevelProblem Problem(IUnlearner unlearner, IAlignmentScorer? scorer = null) => Problem(new InnerObjective(unlearner), scorer);

    /// <summary>A bi-level problem from raw closures (J of DPO and per-example GradAscent losses unless given).</summary>
    public BilevelProblem RawProblem(Func<Tensor>? innerLoss = null, Func<Tensor>? objective = null, Func<IReadOnlyList<long>, Tensor>? perExample = null)
    {
        var inner = new InnerObjective(new GradAscent());
        return new BilevelProblem(Model.TrainableParameters,
            innerLoss ?? (() => { using var w = Uniform(Pool.Count); return inner.Value(Model, Pool, w); }),
            objective ?? (() => Dpo.Objective(Model)),
            perExample ?? (idx => { using var batch = Pool.Select(idx); return inner.PerExampleLosses(Model, batch); }),
            Pool.Count);
    }

    /// <summary>One short outer iteration: 1 inner step of batch 2.</summary>
    public static BilevelOptions FastOptions(ScoringMethod scoring = ScoringMethod.BatchedExact) => new()
    {
        OuterIterations = 1,
        Inner = new InnerUnlearningOptions { Steps = 1, BatchSize = 2, Loop = InnerUnlearningOptions.DefaultLoop with { Optimizer = new Training.OptimizerSettings { LearningRate = 1e-3 } } },
        Scoring = new InfluenceScoringOptions { Method = scoring, HessianBatchSize = 4 },
    };

    /// <summary>A bilevel optimizer on this world with the given parts (GradAscent, DPO, top-2, identity estimator by default).</summary>
    public BilevelOptimizer Optimizer(IUnlearner? unlearner = null, IAlignmentScorer? scorer = null, IExampleSelector? selector = null,
        BilevelOptions? options = null, IHypergradientEstimator? estimator = null, IEnumerable<IInnerTerm>? terms = null) =>
        new(new UnlearningProblem(Model, Pool, new InnerObjective(unlearner ?? new GradAscent(), terms), scorer ?? Dpo), selector ?? new TopKSelector(2),
            estimator ?? new IdentityEstimator(), (scorer ?? Dpo) as IAlignmentEvaluator ?? Dpo, options ?? FastOptions());

    /// <summary>Runs <see cref="Optimizer"/> on the pool.</summary>
    public BilevelResult Run(IUnlearner? unlearner = null, IAlignmentScorer? scorer = null, IExampleSelector? selector = null,
        BilevelOptions? options = null, IHypergradientEstimator? estimator = null, IEnumerable<IInnerTerm>? terms = null) =>
        Optimizer(unlearner, scorer, selector, options, estimator, terms).Run();

    /// <summary>The influence direction of the identity estimator for the DPO objective.</summary>
    public InfluenceDirection Direction()
    {
        var problem = RawProblem();
        return new IdentityEstimator().Estimate(problem);
    }

    private static void Randomise(LoraModel lora, long seed)
    {
        var gen = new TorchSharp.torch.Generator((ulong)seed);
        using var noGrad = no_grad();
        foreach (var a in lora.Adapters) a.B.copy_(randn(a.B.shape, dtype: a.B.dtype, generator: gen).mul_(0.1));
    }

    public void Dispose()
    {
        Pool.Dispose();
        Preferences.Dispose();
        Start.Dispose();
        Lora?.Dispose();
        Base.Dispose();
    }
}
