using TorchSharp;
using TorchSharp.Modules;
using U2A.Core.Models;
using U2A.Core.Models.Checkpoints;
using U2A.Core.Models.Llama;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.ModelTestKit;

namespace U2A.Core.Tests.Models.Checkpoints;

/// <summary><see cref="HfCheckpoint.Save"/> writes a whole checkpoint before it replaces anything: a save that fails while
/// writing leaves the previous checkpoint in the directory byte for byte, and a successful one removes stale files.</summary>
public class HfCheckpointStagingTests
{
    private static readonly long[][] Rows = { new long[] { 3, 14, 15, 9, 26, 5 }, new long[] { 7, 1, 8 } };

    private static Tensor Logits(IHfCheckpointModel model)
    {
        var (ids, mask) = RightPad(Rows);
        return model.Forward(ids.to(model.Device), mask.to(model.Device));
    }

    /// <summary>Every file and folder of <paramref name="directory"/> (recursively) with its bytes.</summary>
    private static SortedDictionary<string, byte[]?> Snapshot(string directory)
    {
        var result = new SortedDictionary<string, byte[]?>(StringComparer.Ordinal);
        foreach (var entry in Directory.GetFileSystemEntries(directory, "*", SearchOption.AllDirectories))
            result[Path.GetRelativePath(directory, entry)] = File.Exists(entry) ? File.ReadAllBytes(entry) : null;
        return result;
    }

    private static void AssertSameFiles(SortedDictionary<string, byte[]?> expected, SortedDictionary<string, byte[]?> actual)
    {
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (name, bytes) in expected) Assert.True(bytes is null ? actual[name] is null : bytes.AsSpan().SequenceEqual(actual[name]), name + " changed");
    }

    /// <summary>A real model whose checkpoint gains, last, a tensor that safetensors cannot hold: a save writes the
    /// earlier shards and then fails.</summary>
    private sealed class FailsLastModel(LlamaLM inner) : IHfCheckpointModel
    {
        private readonly Parameter _bad = new(zeros(2, dtype: ScalarType.ComplexFloat32), requires_grad: false);
        public IHfModelConfig Config => inner.Config;
        public IReadOnlyList<HfTensorBinding> HfTensors => inner.HfTensors.Append(new HfTensorBinding("zz.unsupported", _bad, false)).ToList();
        public string? MapCheckpointKey(string checkpointKey) => inner.MapCheckpointKey(checkpointKey);
        public Tensor Forward(Tensor inputIds, Tensor attentionMask) => inner.Forward(inputIds, attentionMask);
        public IReadOnlyList<Parameter> TrainableParameters => inner.TrainableParameters;
        public Device Device => inner.Device;
        public ScalarType DType => inner.DType;
        public int VocabularySize => inner.VocabularySize;
        public void SetTraining(bool training) => inner.SetTraining(training);
        public void Dispose() { _bad.Dispose(); inner.Dispose(); }
    }

    [Theory]
    [InlineData(0L, 0L)] // single file over single file
    [InlineData(8_000L, 8_000L)] // shards over shards
    [InlineData(0L, 8_000L)] // shards over a single file
    [InlineData(8_000L, 0L)] // single file over shards
    public void Save_failing_midway_leaves_the_previous_checkpoint_byte_identical_and_loadable(long oldShardBytes, long newShardBytes)
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDir();
        using var previous = new LlamaLM(TinyLlama, seed: 1);
        HfCheckpoint.Save(previous, dir.Path, maxShardBytes: oldShardBytes);
        var before = Snapshot(dir.Path);
        var expectedLogits = Logits(previous).detach();

        // A different configuration, so a config.json written too early would show.
        using var next = new FailsLastModel(new LlamaLM(TinyLlama with { RmsNormEps = 1e-3 }, seed: 2));
        var e = Assert.Throws<ArgumentException>(() => HfCheckpoint.Save(next, dir.Path, maxShardBytes: newShardBytes));
        Assert.Contains("zz.unsupported", e.Message);

        AssertSameFiles(before, Snapshot(dir.Path)); // nothing replaced, deleted or left behind
        using var loaded = CausalLMLoader.FromPretrained(dir.Path);
        Assert.Equal(previous.Config, loaded.Config);
        Assert.Equal(0.0, MaxAbsDiff(expectedLogits, Logits(loaded)));
    }

    [Fact]
    public void Save_failing_on_an_unsupported_dtype_keeps_the_previous_checkpoint()
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDir();
        using var previous = new LlamaLM(TinyLlama, seed: 3);
        HfCheckpoint.Save(previous, dir.Path, maxShardBytes: 8_000);
        var before = Snapshot(dir.Path);

        using var next = new LlamaLM(TinyLlama, seed: 4);
        Assert.Throws<ArgumentException>(() => HfCheckpoint.Save(next, dir.Path, dtype: ScalarType.ComplexFloat32));

        AssertSameFiles(before, Snapshot(dir.Path));
        using var loaded = CausalLMLoader.FromPretrained(dir.Path);
        Assert.Equal(0.0, MaxAbsDiff(Logits(previous), Logits(loaded)));
    }

    [Theory]
    [InlineData(0L, 8_000L)]
    [InlineData(8_000L, 0L)]
    [InlineData(4_000L, 8_000L)]
    public void Successful_save_replaces_the_checkpoint_and_removes_stale_files(long oldShardBytes, long newShardBytes)
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDir();
        using var previous = new LlamaLM(TinyLlama, seed: 5);
        HfCheckpoint.Save(previous, dir.Path, maxShardBytes: oldShardBytes);
        File.WriteAllText(Path.Combine(dir.Path, "README.md"), "kept");

        using var next = new LlamaLM(TinyLlama, seed: 6);
        HfCheckpoint.Save(next, dir.Path, maxShardBytes: newShardBytes);

        using var fresh = new TempDir();
        HfCheckpoint.Save(next, fresh.Path, maxShardBytes: newShardBytes);
        var expected = Snapshot(fresh.Path);
        expected["README.md"] = "kept"u8.ToArray();
        AssertSameFiles(expected, Snapshot(dir.Path)); // exactly the new checkpoint's files (plus unrelated ones), no staging folder
        using var loaded = CausalLMLoader.FromPretrained(dir.Path);
        Assert.Equal(0.0, MaxAbsDiff(Logits(next), Logits(loaded)));
    }
}
