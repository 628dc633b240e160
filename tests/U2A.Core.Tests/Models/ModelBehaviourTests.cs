using TorchSharp;
using U2A.Core.Models;
using U2A.Core.Models.Checkpoints;
using U2A.Core.Models.Generation;
using U2A.Core.Models.Gpt2;
using U2A.Core.Models.Llama;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.ModelTestKit;

namespace U2A.Core.Tests.Models;

/// <summary>Padding and batch invariance, grouped-query attention and second-order autograd through GPT-2 and Llama.</summary>
public class ModelBehaviourTests(Xunit.Abstractions.ITestOutputHelper output)
{
    public static TheoryData<string> Architectures => new() { "gpt2", "llama", "qwen2" };

    private static IHfCheckpointModel Create(string arch, ScalarType dtype = ScalarType.Float32, long seed = 3) => arch switch
    {
        "gpt2" => new Gpt2LM(TinyGpt2, dtype: dtype, seed: seed),
        "llama" => new LlamaLM(TinyLlama, dtype: dtype, seed: seed),
        _ => new LlamaLM(TinyQwen2, dtype: dtype, seed: seed),
    };

    private static readonly long[] Short = { 4, 8, 15, 16, 23 }, Long = { 42, 1, 2, 3, 5, 8, 13, 21, 34 };

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Real_token_logits_do_not_depend_on_padding_side_or_batch_composition(string arch)
    {
        using var scope = NewDisposeScope();
        using var model = Create(arch);
        var alone = model.Forward(tensor(Short).unsqueeze(0), ones(1, Short.Length, dtype: ScalarType.Int64))[0];

        var (rightIds, rightMask) = RightPad(Short, Long);
        var right = model.Forward(rightIds, rightMask);
        var (leftIds, leftMask) = TokenGenerator.LeftPad(new[] { Short, Long }, padTokenId: 0);
        var left = model.Forward(leftIds, leftMask);

        Assert.True(MaxAbsDiff(RealLogits(right, rightMask, 0), alone) < 1e-5, "right padding changed the short row");
        Assert.True(MaxAbsDiff(RealLogits(left, leftMask, 0), alone) < 1e-5, "left padding changed the short row");
        Assert.True(MaxAbsDiff(RealLogits(left, leftMask, 1), RealLogits(right, rightMask, 1)) < 1e-5, "the long row changed with the padding side");
        // Padding must not produce NaN anywhere (a padded query attends to itself).
        Assert.False(left.isnan().any().item<bool>() || right.isnan().any().item<bool>());
    }

    [Fact]
    public void Grouped_query_attention_equals_multi_head_attention_with_repeated_key_value_heads()
    {
        using var scope = NewDisposeScope();
        var gqaConfig = TinyLlama; // 4 query heads, 2 key/value heads
        using var gqa = new LlamaLM(gqaConfig, seed: 4);
        using var mha = new LlamaLM(gqaConfig with { NumKeyValueHeads = 4 }, seed: 9);
        // Copy every weight; k_proj / v_proj rows of each key/value head are repeated for the 2 query heads that share it.
        int d = gqaConfig.HeadDimension;
        using (no_grad())
        {
            var source = gqa.HfTensors.ToDictionary(b => b.Name, b => (Tensor)b.Parameter);
            foreach (var b in mha.HfTensors)
            {
                var w = source[b.Name];
                if (b.Name.EndsWith("k_proj.weight") || b.Name.EndsWith("v_proj.weight"))
                    w = w.view(2, 1, d, -1).expand(2, 2, d, w.shape[1]).reshape(4 * d, -1);
                b.Parameter.copy_(w);
            }
        }
        var (ids, mask) = RightPad(Short, Long);
        Assert.True(MaxAbsDiff(gqa.Forward(ids, mask), mha.Forward(ids, mask)) < 1e-5);
    }

    /// <summary>H v through the whole model (loss: mean negative response log-likelihood) against the central difference of
    /// the gradient along v, in float64. Needs double backward through attention, norms, rotary embeddings and the head.</summary>
    [Theory]
    [MemberData(nameof(Architectures))]
    public void Hessian_vector_product_matches_central_finite_differences_in_float64(string arch)
    {
        using var scope = NewDisposeScope();
        using var model = Create(arch, ScalarType.Float64, seed: 21);
        var parameters = model.TrainableParameters.ToArray();
        var (ids, mask) = RightPad(Short, Long);
        var response = mask.clone();
        response[.., ..3] = 0;
        Tensor Loss() => -ModelTestKit.ResponseLogProbs(model.Forward(ids, mask), ids, response).sum() / response[.., 1..].sum();

        var gen = new Generator(5);
        var direction = parameters.Select(p => randn(p.shape, dtype: ScalarType.Float64, generator: gen)).ToArray();
        var grads = autograd.grad(new[] { Loss() }, parameters, retain_graph: true, create_graph: true);
        var gv = grads.Zip(direction, (g, v) => (g * v).sum()).Aggregate((a, b) => a + b);
        var hvp = autograd.grad(new[] { gv }, parameters);

        const double eps = 1e-5;
        Tensor[] GradAt(double sign)
        {
            using (no_grad()) for (int i = 0; i < parameters.Length; i++) parameters[i].add_(direction[i], alpha: sign * eps);
            var g = autograd.grad(new[] { Loss() }, parameters).Select(t => t.detach()).ToArray();
            using (no_grad()) for (int i = 0; i < parameters.Length; i++) parameters[i].add_(direction[i], alpha: -sign * eps);
            return g;
        }
        var plus = GradAt(+1);
        var minus = GradAt(-1);
        var fd = cat(plus.Zip(minus, (a, b) => ((a - b) / (2 * eps)).flatten()).ToArray());
        var exact = cat(hvp.Select(h => h.flatten()).ToArray());
        double scale = exact.abs().max().item<double>();
        double err = (fd - exact).abs().max().item<double>();
        output.WriteLine($"{arch}: HVP max |fd - hvp| / max |hvp| = {err / scale:E2} (scale {scale:E2})");
        Assert.True(scale > 1e-2, $"degenerate Hessian-vector product ({scale})");
        Assert.True(err <= 1e-6 * scale, $"{arch}: |fd - hvp| = {err:E3}, scale {scale:E3}, relative {err / scale:E3}");
    }
}
