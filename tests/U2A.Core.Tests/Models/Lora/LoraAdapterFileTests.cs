using TorchSharp;
using U2A.Testing;
using U2A.Core.Models.Checkpoints;
using U2A.Core.Models.Lora;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.LoraFixtures;

namespace U2A.Core.Tests.Models.Lora;

public class LoraAdapterFileTests : IDisposable
{
    private static readonly LoraOptions Targets = new() { TargetModules = new[] { "c_attn", "c_out" }, Rank = 2, Alpha = 3, Dropout = 0.05, Seed = 9 };
    private readonly string _dir = Directory.CreateTempSubdirectory("u2a-lora-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Save_and_load_round_trip_gives_identical_logits()
    {
        using var scope = NewDisposeScope();
        using var batch = Batch();
        string path = Path.Combine(_dir, "adapter.safetensors");
        Tensor expected;
        using (var model = Tiny())
        using (var lora = new LoraModel(model, Targets))
        {
            Randomise(lora);
            lora.SetTraining(false); // Dropout > 0 needs call()-style layers in training mode; TinyTransformerLM uses forward()
            expected = lora.Forward(batch.InputIds, batch.AttentionMask).detach();
            lora.SaveAdapters(path);
        }
        var (entries, meta, _) = SafetensorsFile.ReadHeader(path);
        Assert.Contains(entries, e => e.Name == "blocks.1.c_out.lora_B.weight" && e.Shape.SequenceEqual(new long[] { 8, 2 }));
        Assert.Contains(entries, e => e.Name == "blocks.0.c_attn.lora_A.weight" && e.Shape.SequenceEqual(new long[] { 2, 8 }));
        Assert.Equal(8, entries.Count);
        Assert.Equal("2", meta["r"]);
        Assert.Equal("c_attn,c_out", meta["target_modules"]);

        var options = LoraAdapterFile.ReadOptions(path);
        Assert.Equal(Targets.TargetModules, options.TargetModules);
        Assert.Equal((Targets.Rank, Targets.Alpha, Targets.Dropout, Targets.Seed), (options.Rank, options.Alpha, options.Dropout, options.Seed));

        using var fresh = Tiny();
        using var loaded = LoraModel.FromAdapterFile(fresh, path);
        loaded.SetTraining(false);
        Assert.Equal(0.0, MaxAbsDiff(expected, loaded.Forward(batch.InputIds, batch.AttentionMask)));
    }

    [Fact]
    public void Loading_into_mismatched_adapters_fails_with_clear_messages()
    {
        using var scope = NewDisposeScope();
        string path = Path.Combine(_dir, "adapter.safetensors");
        using (var model = Tiny())
        using (var lora = new LoraModel(model, Targets))
            lora.SaveAdapters(path);

        using var other = Tiny();
        using (var wrongRank = new LoraModel(other, Targets with { Rank = 4 }))
            Assert.Contains("LoraOptions.Rank", Assert.Throws<InvalidDataException>(() => wrongRank.LoadAdapters(path)).Message);
        using (var wrongAlpha = new LoraModel(other, Targets with { Alpha = 5 }))
            Assert.Contains("LoraOptions.Alpha", Assert.Throws<InvalidDataException>(() => wrongAlpha.LoadAdapters(path)).Message);
        using (var wrongTargets = new LoraModel(other, Targets with { TargetModules = new[] { "c_attn", "c_fc" } }))
        {
            var e = Assert.Throws<InvalidDataException>(() => wrongTargets.LoadAdapters(path));
            Assert.Contains("missing [blocks.0.c_fc.lora_A.weight", e.Message);
            Assert.Contains("unexpected [blocks.0.c_out.lora_A.weight", e.Message);
        }

        // Right names, wrong shape.
        string bad = Path.Combine(_dir, "bad.safetensors");
        using (var model = Tiny())
        using (var lora = new LoraModel(model, Targets))
        {
            var tensors = lora.Adapters.SelectMany(a => new[] { (LoraAdapterFile.NameOfA(a.Path), (Tensor)a.A), (LoraAdapterFile.NameOfB(a.Path), (Tensor)a.B) })
                .ToDictionary(t => t.Item1, t => t.Item2);
            tensors["blocks.1.c_attn.lora_B.weight"] = zeros(new long[] { 23, 2 }, dtype: float64);
            SafetensorsFile.Save(bad, tensors);
            var e = Assert.Throws<InvalidDataException>(() => lora.LoadAdapters(bad));
            Assert.Contains("'blocks.1.c_attn.lora_B.weight' has shape [23, 2]", e.Message);
            Assert.Contains("[24, 2]", e.Message);
        }

        string notLora = Path.Combine(_dir, "plain.safetensors");
        SafetensorsFile.Save(notLora, new Dictionary<string, Tensor> { ["x"] = zeros(2) });
        Assert.Contains("format", Assert.Throws<InvalidDataException>(() => LoraAdapterFile.ReadOptions(notLora)).Message);
    }
}
