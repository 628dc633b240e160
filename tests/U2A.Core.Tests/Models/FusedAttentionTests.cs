using U2A.Core.Models;
using U2A.Core.Models.Generation;
using U2A.Core.Models.Gpt2;
using U2A.Core.Models.Llama;
using U2A.Core.Tests.Shared;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Models;

/// <summary>
/// Forward-only passes (gradient recording off) use libtorch's fused scaled_dot_product_attention, recorded passes the
/// explicit matmul-softmax attention: both kernels must give the same logits, with left and right padding, with and
/// without the KV cache, for GPT-2 and Llama (grouped-query) attention.
/// </summary>
public class FusedAttentionTests
{
    private static ICachedCausalLM Model(string arch, ScalarType dtype) => arch switch
    {
        "gpt2" => new Gpt2LM(ModelTestKit.TinyGpt2, dtype: dtype, seed: 3),
        _ => new LlamaLM(ModelTestKit.TinyLlama, dtype: dtype, seed: 3),
    };

    /// <summary>Rows of different lengths, right-padded or left-padded.</summary>
    private static (Tensor Ids, Tensor Mask) Batch(bool left)
    {
        var (ids, mask) = ModelTestKit.RightPad(new long[] { 5, 9, 2, 7, 11, 3, 8 }, new long[] { 4, 1, 6 }, new long[] { 12, 30, 2, 2, 41 });
        return left ? (ids.flip(1), mask.flip(1)) : (ids, mask); // flipping keeps the masks valid; the token order does not matter here
    }

    [Theory]
    [InlineData("gpt2", false, ScalarType.Float64, 1e-12)]
    [InlineData("gpt2", true, ScalarType.Float64, 1e-12)]
    [InlineData("llama", false, ScalarType.Float64, 1e-12)]
    [InlineData("llama", true, ScalarType.Float64, 1e-12)]
    [InlineData("gpt2", true, ScalarType.Float32, 2e-5)]
    [InlineData("llama", false, ScalarType.Float32, 2e-5)]
    public void Fused_and_explicit_attention_give_the_same_logits_on_real_tokens(string arch, bool leftPadded, ScalarType dtype, double tolerance)
    {
        using var scope = NewDisposeScope();
        using var model = (IDisposable)Model(arch, dtype);
        var lm = (ICachedCausalLM)model;
        var (ids, mask) = Batch(leftPadded);
        var explicitLogits = lm.Forward(ids, mask); // gradient recording on: the explicit kernel
        Assert.True(explicitLogits.requires_grad);
        Tensor fused;
        using (no_grad()) fused = lm.Forward(ids, mask);
        Assert.False(fused.requires_grad);
        for (int row = 0; row < 3; row++)
        {
            double diff = ModelTestKit.MaxAbsDiff(ModelTestKit.RealLogits(fused, mask, row), ModelTestKit.RealLogits(explicitLogits.detach(), mask, row));
            Assert.True(diff <= tolerance, $"{arch} row {row}: fused and explicit logits differ by {diff:G3} (tolerance {tolerance:G1})");
        }
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void The_cached_forward_uses_the_fused_kernel_with_past_keys_and_agrees_with_the_explicit_one(string arch)
    {
        using var scope = NewDisposeScope();
        using var model = (IDisposable)Model(arch, ScalarType.Float64);
        var lm = (ICachedCausalLM)model;
        var (ids, mask) = Batch(left: true);
        long t = ids.shape[1];
        // Prompt of t - 2 columns, then two single-token steps through the cache: every step's mask is [B, 1, 1, S + 1].
        Tensor Run()
        {
            using var cache = new KvCache(lm.LayerCount);
            var parts = new List<Tensor> { lm.Forward(ids[.., ..(int)(t - 2)], mask[.., ..(int)(t - 2)], cache) };
            for (long c = t - 2; c < t; c++)
                parts.Add(lm.Forward(ids[.., (int)c..(int)(c + 1)], mask[.., ..(int)(c + 1)], cache));
            return cat(parts.ToArray(), 1);
        }
        var explicitLogits = Run().detach();
        Tensor fused;
        using (no_grad()) fused = Run();
        var full = lm.Forward(ids, mask).detach();
        for (int row = 0; row < 3; row++)
        {
            var f = ModelTestKit.RealLogits(fused, mask, row);
            Assert.True(ModelTestKit.MaxAbsDiff(f, ModelTestKit.RealLogits(explicitLogits, mask, row)) <= 1e-12, $"row {row}: cached fused vs cached explicit");
            Assert.True(ModelTestKit.MaxAbsDiff(f, ModelTestKit.RealLogits(full, mask, row)) <= 1e-12, $"row {row}: cached fused vs full explicit");
        }
    }

    [Fact]
    public void The_mask_of_a_forward_only_pass_is_the_fused_kernels_allowed_mask_and_of_a_recorded_pass_the_forbidden_one()
    {
        using var scope = NewDisposeScope();
        var (_, mask) = Batch(left: false);
        var recorded = CausalAttention.ForForward(mask, mask.shape[1]);
        Assert.False(recorded.Fused);
        AttentionMask forwardOnly;
        using (no_grad()) forwardOnly = CausalAttention.ForForward(mask, mask.shape[1]);
        Assert.True(forwardOnly.Fused);
        Assert.True(forwardOnly.Mask.eq(recorded.Mask.logical_not()).all().item<bool>());
        // Row 1 has 3 real tokens: its query 1 may attend to keys 0 and 1 only; a padding query attends to itself.
        Assert.Equal(new[] { true, true, false, false, false, false, false }, forwardOnly.Mask[1, 0, 1].data<bool>().ToArray());
        Assert.True(forwardOnly.Mask[1, 0, 5, 5].item<bool>());
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void The_explicit_kernel_setting_keeps_forward_only_passes_on_the_explicit_kernel(string arch)
    {
        using var scope = NewDisposeScope();
        using var model = (IDisposable)Model(arch, ScalarType.Float64);
        var (ids, mask) = Batch(left: false);
        Tensor fused, explicitLogits;
        using (no_grad())
        {
            fused = ((ICausalLM)model).Forward(ids, mask);
            SetKernel(model, AttentionKernel.Explicit);
            explicitLogits = ((ICausalLM)model).Forward(ids, mask);
            Assert.Throws<ArgumentOutOfRangeException>(() => SetKernel(model, (AttentionKernel)7));
        }
        AttentionMask chosen;
        using (no_grad()) chosen = CausalAttention.ForForward(mask, mask.shape[1], AttentionKernel.Explicit);
        Assert.False(chosen.Fused);
        for (int row = 0; row < 3; row++)
            Assert.True(ModelTestKit.MaxAbsDiff(ModelTestKit.RealLogits(fused, mask, row), ModelTestKit.RealLogits(explicitLogits, mask, row)) <= 1e-12);
    }

    private static void SetKernel(IDisposable model, AttentionKernel kernel)
    {
        if (model is Gpt2LM g) g.AttentionKernel = kernel;
        else ((LlamaLM)model).AttentionKernel = kernel;
    }
}
