using U2A.Core.Data;
using U2A.Core.Models;
using U2A.Core.Models.Gpt2;
using U2A.Core.Models.Llama;
using U2A.Core.Models.Lora;
using U2A.Core.Tests.Shared;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Models;

/// <summary>
/// <see cref="ResponseLogProbs.Compute"/> on an <see cref="ISelectiveLogitsModel"/> runs the output head only at the
/// positions that predict response tokens: it must give the log-probs, gradients and second derivatives of the full-logits
/// path, with left and right padding, response masks with holes, and LoRA adapters (two-branch and merged).
/// </summary>
public class SelectiveLogitsTests
{
    /// <summary>Row 0 right-padded, row 1 left-padded, row 2 a two-turn response mask with a hole; prompts of 3-5 tokens.</summary>
    private static TokenBatch Batch()
    {
        var ids = tensor(new long[,] { { 3, 7, 9, 4, 12, 8, 0, 0, 0 }, { 0, 0, 5, 6, 11, 2, 14, 9, 1 }, { 4, 4, 8, 13, 2, 6, 10, 3, 7 } });
        var att = tensor(new long[,] { { 1, 1, 1, 1, 1, 1, 0, 0, 0 }, { 0, 0, 1, 1, 1, 1, 1, 1, 1 }, { 1, 1, 1, 1, 1, 1, 1, 1, 1 } });
        var resp = tensor(new long[,] { { 0, 0, 0, 1, 1, 1, 0, 0, 0 }, { 0, 0, 0, 0, 0, 1, 1, 1, 1 }, { 0, 0, 0, 1, 1, 0, 0, 1, 1 } });
        return new TokenBatch(ids, att, resp);
    }

    private static ICausalLM Model(string arch) => arch switch
    {
        "gpt2" => new Gpt2LM(ModelTestKit.TinyGpt2, dtype: ScalarType.Float64, seed: 4),
        "llama" => new LlamaLM(ModelTestKit.TinyLlama, dtype: ScalarType.Float64, seed: 4),
        _ => new LlamaLM(ModelTestKit.TinyQwen2, dtype: ScalarType.Float64, seed: 4), // tied head
    };

    [Fact]
    public void The_predictor_positions_are_one_before_each_response_token_per_row_and_none_when_every_position_is_needed()
    {
        using var scope = NewDisposeScope();
        using var batch = Batch();
        var (positions, rows) = batch.ResponsePredictors()!.Value;
        // Row 0: response 3..5 -> t 2..4; row 1: response 5..8 -> t 4..7; row 2: response 3..8 with a hole -> t 2..7.
        Assert.Equal(new long[] { 2, 3, 4, 9 + 4, 9 + 5, 9 + 6, 9 + 7, 18 + 2, 18 + 3, 18 + 4, 18 + 5, 18 + 6, 18 + 7 }, positions);
        Assert.Equal(new long[] { 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2 }, rows);
        using var whole = new TokenBatch(tensor(new long[,] { { 1, 2, 3 } }), tensor(new long[,] { { 1, 1, 1 } }), tensor(new long[,] { { 0, 1, 1 } }));
        Assert.Null(whole.ResponsePredictors());
    }

    [Theory]
    [InlineData("gpt2", false)]
    [InlineData("llama", false)]
    [InlineData("qwen2", false)]
    [InlineData("gpt2", true)]
    [InlineData("llama", true)]
    public void Selective_log_probs_gradients_and_second_derivatives_equal_the_full_logits_path(string arch, bool lora)
    {
        using var scope = NewDisposeScope();
        using var baseModel = (IDisposable)Model(arch);
        using var adapted = lora ? new LoraModel((ICausalLM)baseModel, new LoraOptions { TargetModules = new[] { arch == "gpt2" ? "c_attn" : "q_proj" }, Rank = 2, Alpha = 4, Seed = 1 }) : null;
        var model = adapted ?? (ICausalLM)baseModel;
        if (adapted is not null)
            using (no_grad()) foreach (var p in adapted.TrainableParameters) p.add_(randn(p.shape, dtype: p.dtype, generator: new TorchSharp.torch.Generator(3)).mul_(0.2));
        Assert.IsAssignableFrom<ISelectiveLogitsModel>(model);
        using var batch = Batch();
        var parameters = model.TrainableParameters.Cast<Tensor>().ToArray();

        var selective = ResponseLogProbs.Compute(model, batch);
        var full = ResponseLogProbs.FromLogits(model.Forward(batch.InputIds, batch.AttentionMask), batch);
        Assert.True(ModelTestKit.MaxAbsDiff(selective.Sum, full.Sum) <= 1e-12, $"sums: {ModelTestKit.MaxAbsDiff(selective.Sum, full.Sum):G3}");
        Assert.Equal(full.TokenCount.data<double>().ToArray(), selective.TokenCount.data<double>().ToArray());

        // First and second derivatives (the double backward of exact influence scoring) through a weighted sum.
        var w = tensor(new[] { 0.3, -1.1, 0.7 }, dtype: ScalarType.Float64);
        var gs = autograd.grad(new[] { (selective.Sum * w).sum() }, parameters, retain_graph: true, create_graph: true);
        var gf = autograd.grad(new[] { (full.Sum * w).sum() }, parameters, retain_graph: true, create_graph: true);
        for (int i = 0; i < parameters.Length; i++)
            Assert.True(ModelTestKit.MaxAbsDiff(gs[i], gf[i]) <= 1e-10, $"gradient {i}: {ModelTestKit.MaxAbsDiff(gs[i], gf[i]):G3}");
        var v = parameters.Select((p, i) => randn(p.shape, dtype: p.dtype, generator: new TorchSharp.torch.Generator((ulong)(10 + i)))).ToArray();
        var hs = autograd.grad(new[] { gs.Zip(v, (g, d) => (g * d).sum()).Aggregate((a, b) => a + b) }, parameters, allow_unused: true);
        var hf = autograd.grad(new[] { gf.Zip(v, (g, d) => (g * d).sum()).Aggregate((a, b) => a + b) }, parameters, allow_unused: true);
        for (int i = 0; i < parameters.Length; i++)
        {
            if (hf[i] is null || hf[i].IsInvalid) { Assert.True(hs[i] is null || hs[i].IsInvalid); continue; }
            Assert.True(ModelTestKit.MaxAbsDiff(hs[i], hf[i]) <= 1e-9, $"Hessian-vector product {i}: {ModelTestKit.MaxAbsDiff(hs[i], hf[i]):G3}");
        }

        if (adapted is not null)
        {
            using (adapted.ForwardOnly())
            {
                var merged = ResponseLogProbs.Compute(adapted, batch);
                Assert.True(ModelTestKit.MaxAbsDiff(merged.Sum, full.Sum.detach()) <= 1e-12);
            }
        }
    }

    [Fact]
    public void Positions_that_are_not_a_1D_integer_tensor_are_refused_naming_them()
    {
        using var scope = NewDisposeScope();
        using var model = new Gpt2LM(ModelTestKit.TinyGpt2, dtype: ScalarType.Float64, seed: 4);
        using var lora = new LoraModel(model, new LoraOptions { TargetModules = new[] { "c_attn" }, Rank = 2, Alpha = 4 });
        using var batch = Batch();
        foreach (var selective in new ISelectiveLogitsModel[] { model, lora })
        {
            var e = Assert.Throws<ArgumentException>(() => selective.ForwardAt(batch.InputIds, batch.AttentionMask, tensor(new[] { 1.0, 2.0 })));
            Assert.Equal("positions", e.ParamName);
            e = Assert.Throws<ArgumentException>(() => selective.ForwardAt(batch.InputIds, batch.AttentionMask, tensor(new long[,] { { 1, 2 } })));
            Assert.Contains("1-D int64 or int32", e.Message);
            // Out of range: libtorch refuses it with an exception (no abort); the model stays usable.
            Assert.ThrowsAny<Exception>(() => selective.ForwardAt(batch.InputIds, batch.AttentionMask, tensor(new long[] { 27 })));
            Assert.Equal(new long[] { 2, 50 }, selective.ForwardAt(batch.InputIds, batch.AttentionMask, tensor(new long[] { 0, 26 })).shape);
        }
    }
}
