using TorchSharp;
using TorchSharp.Modules;
using U2A.Testing;
using U2A.Core.Data;
using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Shared;

/// <summary>Small models, batches and log-prob inputs shared by the unlearning and alignment tests.</summary>
internal static class Fixtures
{
    public const int Vocabulary = 13;

    /// <summary>A one-layer float64 tiny transformer.</summary>
    public static TinyTransformerLM TinyModel(long seed = 0)
        => new(Vocabulary, width: 16, layers: 1, heads: 2, maxLength: 32, seed: seed, dtype: ScalarType.Float64);

    /// <summary>Right-padded random prompt + response rows (prompt 1..maxPrompt tokens, response 1..maxResponse tokens).</summary>
    public static TokenBatch RandomBatch(int count, int seed, int maxPrompt = 4, int maxResponse = 4)
    {
        var rng = new Random(seed);
        var rows = Enumerable.Range(0, count).Select(_ => (Prompt: rng.Next(1, maxPrompt + 1), Response: rng.Next(1, maxResponse + 1))).ToArray();
        int t = rows.Max(r => r.Prompt + r.Response);
        var ids = new long[count * t];
        var attention = new long[count * t];
        var response = new long[count * t];
        for (int b = 0; b < count; b++)
            for (int i = 0; i < rows[b].Prompt + rows[b].Response; i++)
            {
                ids[b * t + i] = rng.Next(1, Vocabulary);
                attention[b * t + i] = 1;
                response[b * t + i] = i >= rows[b].Prompt ? 1 : 0;
            }
        return new TokenBatch(tensor(ids).reshape(count, t), tensor(attention).reshape(count, t), tensor(response).reshape(count, t));
    }

    /// <summary>Adds seeded noise of size <paramref name="scale"/> to every trainable parameter, in place.</summary>
    public static void Perturb(ICausalLM model, double scale, long seed)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var gen = new Generator((ulong)seed);
        foreach (var p in model.TrainableParameters)
            p.add_(randn(p.shape, dtype: p.dtype, generator: gen) * scale);
    }

    /// <summary>float64 log-probs with the given sums and token counts.</summary>
    public static SequenceLogProbs Lp(Tensor sums, params double[] counts) => new(sums, tensor(counts));

    /// <summary>float64 log-probs with the given sums and token counts.</summary>
    public static SequenceLogProbs Lp(double[] sums, double[] counts) => new(tensor(sums), tensor(counts));

    /// <summary>The values of a float64 tensor.</summary>
    public static double[] Values(Tensor t) => t.to_type(ScalarType.Float64).cpu().data<double>().ToArray();

    /// <summary>Token-by-token log-probabilities computed independently of <see cref="ResponseLogProbs"/>: sum, count per row.</summary>
    public static (double[] Sum, double[] Count) LogProbsByHand(ICausalLM model, TokenBatch batch)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var logp = model.Forward(batch.InputIds, batch.AttentionMask).log_softmax(-1);
        var ids = batch.InputIds.data<long>().ToArray();
        var resp = batch.ResponseMask.data<long>().ToArray();
        int b = batch.Count, t = batch.Length;
        var sum = new double[b];
        var count = new double[b];
        var table = logp.data<double>().ToArray();
        int v = (int)logp.shape[2];
        for (int i = 0; i < b; i++)
            for (int j = 1; j < t; j++)
                if (resp[i * t + j] == 1)
                {
                    sum[i] += table[(i * t + j - 1) * v + ids[i * t + j]];
                    count[i] += 1;
                }
        return (sum, count);
    }

    public static double Sigmoid(double z) => 1.0 / (1.0 + Math.Exp(-z));
}

/// <summary>
/// A "model" whose logits are a trainable table [B, T, V] returned whatever the input, plus optional extra trainable tensors:
/// lets a test set the next-token distributions by hand.
/// </summary>
internal sealed class LogitsTableLM : ICausalLM
{
    private readonly Tensor _logits;
    private readonly Parameter[] _parameters;

    /// <summary>Trainable logits and extra trainable tensors.</summary>
    public LogitsTableLM(double[,,] logits, params double[][] extra)
    {
        var table = new Parameter(tensor(logits));
        _logits = table;
        _parameters = new[] { table }.Concat(extra.Select(e => new Parameter(tensor(e)))).ToArray();
    }

    /// <summary>Logits given as a tensor (gradients flow to it); no trainable parameters.</summary>
    public LogitsTableLM(Tensor logits)
    {
        _logits = logits;
        _parameters = Array.Empty<Parameter>();
    }

    public Tensor Forward(Tensor inputIds, Tensor attentionMask) => _logits * 1.0;

    public IReadOnlyList<Parameter> TrainableParameters => _parameters;

    public Device Device => CPU;

    public ScalarType DType => ScalarType.Float64;

    public int VocabularySize => (int)_logits.shape[2];

    public void SetTraining(bool training) { }

    public void Dispose()
    {
        foreach (var p in _parameters) p.Dispose();
    }
}
