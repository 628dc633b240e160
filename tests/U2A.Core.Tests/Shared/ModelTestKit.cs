using System.Reflection;
using TorchSharp;
using U2A.Core.Models.Gpt2;
using U2A.Core.Models.Llama;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Shared;

/// <summary>Tiny configurations and helpers shared by the model tests.</summary>
internal static class ModelTestKit
{
    public static Gpt2Config TinyGpt2 => new(VocabSize: 50, NEmbd: 16, NLayer: 2, NHead: 2, NPositions: 32, InitializerRange: 0.2);

    /// <summary>Grouped-query attention: 4 query heads share 2 key/value heads.</summary>
    public static LlamaConfig TinyLlama => new(VocabSize: 50, HiddenSize: 16, IntermediateSize: 32, NumHiddenLayers: 2, NumAttentionHeads: 4,
        NumKeyValueHeads: 2, MaxPositionEmbeddings: 64, RmsNormEps: 1e-5, InitializerRange: 0.2);

    public static LlamaConfig TinyQwen2 => LlamaConfig.Qwen2(50, 16, 24, 2, 4, 1, tieWordEmbeddings: true, initializerRange: 0.2);

    public static string RepoRoot => typeof(ModelTestKit).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!;

    public static string FixtureDirectory(string name) => Path.Combine(RepoRoot, "tests", "fixtures", "models", name);

    /// <summary>A fresh temporary directory, deleted on dispose.</summary>
    public sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("u2a-models-").FullName;
        public void Dispose() { try { Directory.Delete(Path, recursive: true); } catch (IOException) { } }
    }

    /// <summary>Right-pads token rows into ids and mask [B, T].</summary>
    public static (Tensor Ids, Tensor Mask) RightPad(params long[][] rows)
    {
        int t = rows.Max(r => r.Length);
        var ids = zeros(rows.Length, t, dtype: ScalarType.Int64);
        var mask = zeros(rows.Length, t, dtype: ScalarType.Int64);
        for (int i = 0; i < rows.Length; i++)
        {
            ids[i, ..rows[i].Length] = tensor(rows[i]);
            mask[i, ..rows[i].Length] = 1;
        }
        return (ids, mask);
    }

    /// <summary>Logits [L, V] of the real tokens of row <paramref name="row"/>.</summary>
    public static Tensor RealLogits(Tensor logits, Tensor mask, int row) => logits[row].index_select(0, mask[row].nonzero().flatten());

    /// <summary>Sum over response tokens of log_softmax, written out here (the formula of <c>ResponseLogProbs.FromLogits</c>)
    /// so the parity check does not depend on <c>TokenBatch</c> validation.</summary>
    public static Tensor ResponseLogProbs(Tensor logits, Tensor ids, Tensor responseMask)
    {
        var logp = logits[.., ..^1].log_softmax(-1).gather(-1, ids[.., 1..].unsqueeze(-1)).squeeze(-1);
        return (logp * responseMask[.., 1..].to_type(logp.dtype)).sum(1);
    }

    public static double MaxAbsDiff(Tensor a, Tensor b) => (a.to_type(ScalarType.Float64) - b.to_type(ScalarType.Float64)).abs().max().item<double>();

    /// <summary>max |a - b| / max |b|.</summary>
    public static double RelErr(Tensor a, Tensor b) => MaxAbsDiff(a, b) / b.to_type(ScalarType.Float64).abs().max().item<double>();
}
