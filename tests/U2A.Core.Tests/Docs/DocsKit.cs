using System.Reflection;
using U2A.Core.Data;
using U2A.Core.Models;
using U2A.Testing;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Docs;

/// <summary>Small models and batches for the doc examples, kept here so the examples depend on nothing else in the tests.</summary>
internal static class DocsKit
{
    public const int Vocabulary = 13;

    /// <summary>The repository root (from the assembly metadata the test project writes).</summary>
    public static string RepoRoot => typeof(DocsKit).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!;

    /// <summary>A one-layer float64 tiny transformer over <see cref="Vocabulary"/> tokens.</summary>
    public static TinyTransformerLM TinyModel(long seed = 0)
        => new(Vocabulary, width: 16, layers: 1, heads: 2, maxLength: 32, seed: seed, dtype: ScalarType.Float64);

    /// <summary>Right-padded random prompt + response rows (prompt 1..4 tokens, response 1..4 tokens).</summary>
    public static TokenBatch RandomBatch(int count, int seed)
    {
        var rng = new Random(seed);
        var rows = Enumerable.Range(0, count).Select(_ => (Prompt: rng.Next(1, 5), Response: rng.Next(1, 5))).ToArray();
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

    /// <summary>Summed response log-probs and response token counts per row, computed token by token from the logits
    /// (independently of <see cref="ResponseLogProbs"/>).</summary>
    public static (double[] Sum, double[] Count) LogProbsByHand(ICausalLM model, TokenBatch batch)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var logp = model.Forward(batch.InputIds, batch.AttentionMask).log_softmax(-1).to_type(ScalarType.Float64).cpu();
        var ids = batch.InputIds.cpu().data<long>().ToArray();
        var resp = batch.ResponseMask.cpu().data<long>().ToArray();
        int b = batch.Count, t = batch.Length, v = (int)logp.shape[2];
        var table = logp.data<double>().ToArray();
        var sum = new double[b];
        var count = new double[b];
        for (int i = 0; i < b; i++)
            for (int j = 1; j < t; j++)
                if (resp[i * t + j] == 1)
                {
                    sum[i] += table[(i * t + j - 1) * v + ids[i * t + j]];
                    count[i] += 1;
                }
        return (sum, count);
    }

    /// <summary>Skips the calling [SkippableFact] unless the CC-BY-NC samples are beside the repository; returns their folder.</summary>
    public static string RequireSharedData()
    {
        var dir = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "data", "real"));
        Skip.IfNot(Directory.Exists(dir), $"needs the CC-BY-NC PKU-SafeRLHF sample in {dir} (shared/ beside the repository), which may not be committed");
        return dir;
    }
}
