using TorchSharp;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Toolchain;

/// <summary>
/// Second-order autograd through the building blocks of a causal LM (embedding, layer norm, linear,
/// matmul-softmax attention, cross-entropy), checked against central finite differences in float64.
/// </summary>
public class HessianVectorProductTests
{
    private const int Vocab = 11, Width = 6, Length = 5, Batch = 3;

    private static Tensor Loss(IReadOnlyList<Tensor> p, Tensor tokens)
    {
        var (embed, lnW, lnB, wqkv, head) = (p[0], p[1], p[2], p[3], p[4]);
        var h = embed.index_select(0, tokens.reshape(-1)).reshape(Batch, Length, Width);
        var n = nn.functional.layer_norm(h, new long[] { Width }, lnW, lnB, 1e-5);
        var qkv = nn.functional.linear(n, wqkv).chunk(3, -1);
        var causal = ones(Length, Length, dtype: ScalarType.Bool).tril().logical_not();
        var att = qkv[0].matmul(qkv[1].transpose(1, 2)).div(Math.Sqrt(Width)).masked_fill(causal, double.NegativeInfinity).softmax(-1);
        var o = h + att.matmul(qkv[2]);
        var logits = nn.functional.linear(o, head);
        return nn.functional.cross_entropy(logits[.., ..^1].reshape(-1, Vocab), tokens[.., 1..].reshape(-1));
    }

    [Fact]
    public void Hvp_through_attention_network_matches_central_finite_differences_in_float64()
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(7);
        Tensor R(params long[] shape) => randn(shape, dtype: float64, generator: gen).mul_(0.5);
        var parameters = new[] { R(Vocab, Width), ones(Width, dtype: float64) + R(Width) * 0.1, R(Width) * 0.1, R(3 * Width, Width), R(Vocab, Width) }
            .Select(t => t.requires_grad_()).ToArray();
        var tokens = randint(0, Vocab, new long[] { Batch, Length }, generator: gen);
        var direction = parameters.Select(t => randn(t.shape, dtype: float64, generator: gen)).ToArray();

        var loss = Loss(parameters, tokens);
        var grads = autograd.grad(new[] { loss }, parameters, retain_graph: true, create_graph: true);
        var gv = grads.Zip(direction, (g, v) => (g * v).sum()).Aggregate((a, b) => a + b);
        var hvp = autograd.grad(new[] { gv }, parameters);

        // Central difference of the gradient along the direction: (g(p + e v) - g(p - e v)) / 2e.
        const double eps = 1e-5;
        Tensor[] GradAt(double sign)
        {
            var shifted = parameters.Zip(direction, (p, v) => (p.detach() + v * (sign * eps)).requires_grad_()).ToArray();
            return autograd.grad(new[] { Loss(shifted, tokens) }, shifted).ToArray();
        }
        var plus = GradAt(+1);
        var minus = GradAt(-1);
        for (int i = 0; i < parameters.Length; i++)
        {
            var fd = (plus[i] - minus[i]) / (2 * eps);
            double err = (fd - hvp[i]).abs().max().item<double>();
            double scale = hvp[i].abs().max().item<double>();
            Assert.True(scale > 1e-3, $"parameter {i}: Hessian-vector product is degenerate ({scale})");
            Assert.True(err <= 1e-6 * Math.Max(1.0, scale), $"parameter {i}: |fd - hvp| = {err:E3}, scale {scale:E3}");
        }
    }
}
