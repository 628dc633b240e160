using U2A.Core.Models;
using U2A.Core.Models.Gpt2;
using U2A.Core.Models.Llama;
using Xunit;
using static TorchSharp.torch;

namespace U2A.Testing.Tests.Models;

public class TinyModelsTests
{
    private static ICausalLM Make(string architecture, long seed, ScalarType dtype = ScalarType.Float32) =>
        architecture == "gpt2" ? TinyModels.Gpt2(seed, dtype: dtype) : TinyModels.Llama(seed, dtype: dtype);

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void The_same_seed_gives_the_same_weights_and_another_seed_other_weights(string architecture)
    {
        using var a = Make(architecture, 3);
        using var b = Make(architecture, 3);
        using var c = Make(architecture, 4);
        var va = TestData.Values(a);
        Assert.Equal(va, TestData.Values(b));
        Assert.NotEqual(va, TestData.Values(c));
    }

    [Fact]
    public void The_models_are_the_real_architectures_in_the_requested_dtype_and_run_a_padded_batch()
    {
        using var gpt2 = TinyModels.Gpt2(0, vocabularySize: 20, dtype: ScalarType.Float64);
        using var llama = TinyModels.Llama(0, vocabularySize: 20, dtype: ScalarType.Float64);
        Assert.IsType<Gpt2LM>(gpt2);
        Assert.IsType<LlamaLM>(llama);
        Assert.Equal(2, llama.Config.NumKeyValueHeads); // grouped-query attention
        using var batch = TinyBatches.Random(3, 20, seed: 5);
        foreach (ICausalLM model in new ICausalLM[] { gpt2, llama })
        {
            Assert.Equal(ScalarType.Float64, model.DType);
            Assert.All(model.TrainableParameters, p => Assert.Equal(ScalarType.Float64, p.dtype));
            using var scope = NewDisposeScope();
            var logits = model.Forward(batch.InputIds, batch.AttentionMask);
            Assert.Equal(new long[] { 3, batch.Length, 20 }, logits.shape);
            Assert.True(logits.isfinite().all().item<bool>());
        }
    }

    [Fact]
    public void Random_batches_are_seeded_padded_and_use_ids_from_1_below_the_vocabulary()
    {
        using var a = TinyBatches.Random(8, 7, seed: 9, maxPromptLength: 3, maxResponseLength: 5);
        using var b = TinyBatches.Random(8, 7, seed: 9, maxPromptLength: 3, maxResponseLength: 5);
        Assert.Equal(a.InputIds.data<long>().ToArray(), b.InputIds.data<long>().ToArray());
        Assert.Equal(a.ResponseMask.data<long>().ToArray(), b.ResponseMask.data<long>().ToArray());
        var ids = a.InputIds.data<long>().ToArray();
        var mask = a.AttentionMask.data<long>().ToArray();
        Assert.All(ids.Where((_, i) => mask[i] == 1), id => Assert.InRange(id, 1, 6));
        Assert.Contains(0L, mask); // rows of different lengths, so there is padding
        Assert.InRange(a.Length, 2, 8);
    }

    [Fact]
    public void Invalid_arguments_are_refused_naming_them()
    {
        Assert.Equal("vocabularySize", Assert.Throws<ArgumentOutOfRangeException>(() => TinyModels.Gpt2(0, vocabularySize: 1)).ParamName);
        Assert.Equal("dtype", Assert.Throws<ArgumentOutOfRangeException>(() => TinyModels.Llama(0, dtype: ScalarType.Int32)).ParamName);
        Assert.Equal("seed", Assert.Throws<ArgumentOutOfRangeException>(() => TinyModels.Gpt2(-1)).ParamName);
        Assert.Equal("count", Assert.Throws<ArgumentOutOfRangeException>(() => TinyBatches.Random(0, 10, 0)).ParamName);
    }
}
