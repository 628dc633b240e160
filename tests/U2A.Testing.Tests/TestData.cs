using U2A.Core.Alignment;
using U2A.Core.Models;
using U2A.Core.Optimization;
using U2A.Core.Unlearning;
using static TorchSharp.torch;

namespace U2A.Testing.Tests;

/// <summary>The library's own strategies by name (for theories), and a small unlearning problem on a float64 tiny GPT-2.</summary>
internal static class TestData
{
    public static IUnlearner Strategy(string name) => name switch
    {
        "GradAscent" => new GradAscent(),
        "NPO" => new Npo(),
        "NPO-token-mean" => new Npo(new NpoOptions(Form: NpoForm.TokenMeanNll)),
        "SimNPO" => new SimNpo(),
        _ => throw new ArgumentException($"unknown strategy {name}", nameof(name)),
    };

    /// <summary>A forget batch of <paramref name="count"/> random rows, with reference log-probs from a second tiny model when the strategy needs them.</summary>
    public static ForgetBatch Pool(IUnlearner unlearner, int count, int seed)
    {
        var tokens = TinyBatches.Random(count, TinyModels.DefaultVocabularySize, seed);
        if (!unlearner.NeedsReference) return new ForgetBatch(tokens);
        using var reference = TinyModels.Gpt2(seed: 100, dtype: ScalarType.Float64);
        SequenceLogProbs lp;
        using (no_grad()) lp = ResponseLogProbs.Compute(reference, tokens);
        return new ForgetBatch(tokens, lp);
    }

    /// <summary>J = the token-mean NLL of some "good" responses (lower when the model likes them more).</summary>
    public static IAlignmentScorer GoodResponsesNll(U2A.Core.Data.TokenBatch good) =>
        new ScriptedAlignmentScorer("good NLL", model => ResponseLogProbs.Compute(model, good).MeanNll.mean());

    /// <summary>A float64 tiny GPT-2, a pool of 6 negatives and J on 4 good responses; dispose to free them.</summary>
    public sealed class Problem : IDisposable
    {
        public Problem(IUnlearner unlearner, ScalarType dtype = ScalarType.Float64)
        {
            Model = TinyModels.Gpt2(seed: 0, dtype: dtype);
            PoolBatch = Pool(unlearner, 6, seed: 1);
            Good = TinyBatches.Random(4, TinyModels.DefaultVocabularySize, seed: 2);
            Inner = new InnerObjective(unlearner);
            Objective = GoodResponsesNll(Good);
            Unlearning = new UnlearningProblem(Model, PoolBatch, Inner, Objective);
        }

        public ICausalLM Model { get; }
        public ForgetBatch PoolBatch { get; }
        public U2A.Core.Data.TokenBatch Good { get; }
        public InnerObjective Inner { get; }
        public IAlignmentScorer Objective { get; }
        public UnlearningProblem Unlearning { get; }

        public void Dispose()
        {
            Inner.Dispose();
            Good.Dispose();
            PoolBatch.Dispose();
            Model.Dispose();
        }
    }

    /// <summary>Copies of the values of every trainable parameter.</summary>
    public static double[][] Values(ICausalLM model) => Values(model.TrainableParameters);

    public static double[][] Values(IEnumerable<Tensor> parameters)
    {
        using var scope = NewDisposeScope();
        return parameters.Select(p => p.detach().to_type(ScalarType.Float64).cpu().reshape(-1).data<double>().ToArray()).ToArray();
    }
}
