using TorchSharp;
using U2A.Core.Models;
using U2A.Core.Models.Generation;
using U2A.Core.Models.Gpt2;
using U2A.Core.Models.Llama;
using U2A.Core.Models.Lora;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.LoraFixtures;

namespace U2A.Core.Tests.Models.Lora;

/// <summary>LoRA on the library's GPT-2 (c_attn) and Llama (q_proj, v_proj) models, in float64 tiny configurations:
/// exactness of the fresh, disabled and merged adapters, dropout, cached generation and second-order derivatives.</summary>
public class LoraOnRealArchitecturesTests
{
    public static TheoryData<string> Architectures => new() { "gpt2", "llama" };

    private static ICachedCausalLM Create(string arch) => arch == "gpt2"
        ? new Gpt2LM(ModelTestKit.TinyGpt2, dtype: ScalarType.Float64, seed: 17)
        : new LlamaLM(ModelTestKit.TinyLlama, dtype: ScalarType.Float64, seed: 17);

    private static LoraOptions Targets(string arch) => new()
    {
        TargetModules = arch == "gpt2" ? new[] { "c_attn" } : new[] { "q_proj", "v_proj" },
        Rank = 2, Alpha = 4, Seed = 5,
    };

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Fresh_adapters_are_exact_merged_equals_unmerged_and_adapter_off_is_the_base(string arch)
    {
        using var scope = NewDisposeScope();
        using var model = Create(arch);
        using var batch = Batch();
        var baseLogits = model.Forward(batch.InputIds, batch.AttentionMask);
        using var lora = new LoraModel(model, Targets(arch));
        Assert.Equal(arch == "gpt2" ? 2 : 4, lora.Adapters.Count);
        Assert.Equal(0.0, MaxAbsDiff(baseLogits, lora.Forward(batch.InputIds, batch.AttentionMask)));
        // The models invoke their linear layers through call(): the hooks apply the adapters.
        Assert.All(lora.Adapters, a => Assert.True(a.UsesCallPath, $"{a.Path} was run with forward()"));

        Randomise(lora);
        var adapted = lora.Forward(batch.InputIds, batch.AttentionMask);
        Assert.True(MaxAbsDiff(baseLogits, adapted) > 1e-3, "the adapters did not reach the model's forward");
        using (lora.DisableAdapters())
            Assert.Equal(0.0, MaxAbsDiff(baseLogits, lora.Forward(batch.InputIds, batch.AttentionMask)));
        lora.Merge();
        Assert.True(MaxAbsDiff(adapted, lora.Forward(batch.InputIds, batch.AttentionMask)) <= 1e-12);
        lora.Unmerge();
        Assert.Equal(0.0, MaxAbsDiff(baseLogits, model.Forward(batch.InputIds, batch.AttentionMask)));
        Assert.Equal(0.0, MaxAbsDiff(adapted, lora.Forward(batch.InputIds, batch.AttentionMask)));
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Dropout_acts_in_training_mode_and_evaluation_is_deterministic(string arch)
    {
        using var scope = NewDisposeScope();
        using var model = Create(arch);
        using var batch = Batch();
        using var lora = new LoraModel(model, Targets(arch) with { Dropout = 0.3 });
        Randomise(lora);
        lora.SetTraining(false);
        var eval1 = lora.Forward(batch.InputIds, batch.AttentionMask);
        Assert.Equal(0.0, MaxAbsDiff(eval1, lora.Forward(batch.InputIds, batch.AttentionMask)));
        lora.SetTraining(true);
        using (randn(100)) { } // disturb torch's global generator: the adapters' dropout must not depend on it
        var train1 = lora.Forward(batch.InputIds, batch.AttentionMask);
        Assert.True(MaxAbsDiff(eval1, train1) > 1e-6, "dropout had no effect in training mode");
        Assert.True(MaxAbsDiff(train1, lora.Forward(batch.InputIds, batch.AttentionMask)) > 1e-6, "the second training forward drew the same mask");
        lora.SetTraining(false);
        Assert.Equal(0.0, MaxAbsDiff(eval1, lora.Forward(batch.InputIds, batch.AttentionMask)));

        // The masks come from the adapters' own generators, seeded by LoraOptions.Seed: a rebuilt model repeats them bitwise.
        using var model2 = Create(arch);
        using var lora2 = new LoraModel(model2, Targets(arch) with { Dropout = 0.3 });
        Randomise(lora2);
        lora2.SetTraining(true);
        Assert.Equal(0.0, MaxAbsDiff(train1, lora2.Forward(batch.InputIds, batch.AttentionMask)));
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Cached_generation_with_adapters_equals_uncached_generation(string arch)
    {
        using var scope = NewDisposeScope();
        using var model = Create(arch);
        using var lora = new LoraModel(model, Targets(arch));
        Randomise(lora, scale: 0.5);
        Assert.True(lora.SupportsKvCache);
        Assert.Equal(model.LayerCount, lora.LayerCount);
        model.SetTraining(false);
        var prompts = new IReadOnlyList<long>[] { new long[] { 5, 6, 7 }, new long[] { 11, 12, 13, 14, 15 } };

        // Cached logits, fed in three pieces, equal the full forward with the adapters.
        var (ids, mask) = TokenGenerator.LeftPad(prompts, 0);
        long t = ids.shape[1];
        var full = lora.Forward(ids, mask);
        using (var cache = new KvCache(lora.LayerCount))
        {
            var stitched = cat(new[]
            {
                lora.Forward(ids[.., ..(int)(t - 2)], mask[.., ..(int)(t - 2)], cache),
                lora.Forward(ids[.., (int)(t - 2)..(int)(t - 1)], mask[.., ..(int)(t - 1)], cache),
                lora.Forward(ids[.., (int)(t - 1)..], mask, cache),
            }, 1);
            for (int row = 0; row < 2; row++)
                Assert.True(ModelTestKit.MaxAbsDiff(ModelTestKit.RealLogits(stitched, mask, row), ModelTestKit.RealLogits(full, mask, row)) < 1e-10);
        }
        using (lora.DisableAdapters())
            Assert.True(MaxAbsDiff(full, lora.Forward(ids, mask)) > 1e-3, "the adapters do not change these logits");

        var options = new GenerationOptions { MaxNewTokens = 6 };
        var cached = TokenGenerator.Generate(lora, prompts, options);
        var uncached = TokenGenerator.Generate(lora, prompts, options with { UseKvCache = false });
        for (int i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(6, cached.Tokens[i].Length);
            Assert.Equal(uncached.Tokens[i], cached.Tokens[i]);
        }
        lora.Merge();
        var merged = TokenGenerator.Generate(lora, prompts, options);
        for (int i = 0; i < prompts.Length; i++) Assert.Equal(merged.Tokens[i], cached.Tokens[i]);
    }

    [Fact]
    public void In_bfloat16_fresh_adapters_are_exact_and_merging_agrees_up_to_bf16_rounding()
    {
        using var scope = NewDisposeScope();
        using var model = new LlamaLM(ModelTestKit.TinyLlama, dtype: ScalarType.BFloat16, seed: 17);
        using var batch = Batch();
        var baseLogits = model.Forward(batch.InputIds, batch.AttentionMask);
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        using var lora = new LoraModel(model, Targets("llama"));
        Assert.Equal(ScalarType.BFloat16, lora.Adapters[0].A.dtype);
        Assert.Equal(0.0, ModelTestKit.MaxAbsDiff(baseLogits, lora.Forward(batch.InputIds, batch.AttentionMask)));
        Randomise(lora, scale: 0.5);
        var adapted = lora.Forward(batch.InputIds, batch.AttentionMask);
        Assert.True(ModelTestKit.MaxAbsDiff(baseLogits, adapted) > 0.05, "the adapters did not reach the bf16 model");
        lora.Merge();
        var merged = lora.Forward(batch.InputIds, batch.AttentionMask);
        Assert.True(ModelTestKit.RelErr(merged, adapted) < 0.05, $"merged vs unmerged in bf16: {ModelTestKit.RelErr(merged, adapted):E3}");
        lora.Unmerge();
        foreach (var (name, value) in model.state_dict())
            Assert.True(ModelTestKit.MaxAbsDiff(before[name], value) == 0, $"{name} not restored exactly");
    }

    [Fact]
    public void A_base_model_without_a_kv_cache_is_reported_not_faked()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        using var lora = new LoraModel(model, new LoraOptions { TargetModules = new[] { "c_attn" }, Rank = 2 });
        Assert.False(lora.SupportsKvCache);
        Assert.Throws<NotSupportedException>(() => lora.LayerCount);
        var result = TokenGenerator.Generate(lora, new IReadOnlyList<long>[] { new long[] { 1, 2 } }, new GenerationOptions { MaxNewTokens = 2, UseKvCache = false });
        Assert.Equal(2, result.Tokens[0].Length);
    }

    [Fact]
    public void Llama_hessian_vector_product_wrt_adapters_matches_central_finite_differences_in_float64()
    {
        using var scope = NewDisposeScope();
        using var model = Create("llama");
        using var batch = Batch();
        using var lora = new LoraModel(model, Targets("llama"));
        Randomise(lora);
        HvpCheck.AssertMatchesFiniteDifferences(lora.TrainableParameters.Cast<Tensor>().ToArray(),
            () => -ResponseLogProbs.Compute(lora, batch).Sum.sum());
    }
}
