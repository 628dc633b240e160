using static TorchSharp.torch;

namespace U2A.Core.Tests.Shared;

/// <summary>A Hessian-vector product by double backward against float64 central differences of the gradient.</summary>
internal static class HvpCheck
{
    /// <summary>
    /// Asserts that <c>H v</c> of <paramref name="loss"/> w.r.t. <paramref name="parameters"/> (in-place leaves) matches
    /// <c>(g(p + eps v) - g(p - eps v)) / 2 eps</c> for a seeded random v, to <paramref name="tolerance"/> relative; the
    /// parameters are restored afterwards.
    /// </summary>
    public static void AssertMatchesFiniteDifferences(IReadOnlyList<Tensor> parameters, Func<Tensor> loss, ulong seed = 21,
        double eps = 1e-5, double tolerance = 1e-6, double minScale = 1e-4)
    {
        using var scope = NewDisposeScope();
        var ps = parameters.ToArray();
        var gen = new Generator(seed);
        var v = ps.Select(p => randn(p.shape, dtype: p.dtype, generator: gen)).ToArray();
        var grads = autograd.grad(new[] { loss() }, ps, retain_graph: true, create_graph: true);
        var gv = grads.Zip(v, (g, d) => (g * d).sum()).Aggregate((a, b) => a + b);
        var hvp = autograd.grad(new[] { gv }, ps);

        var saved = ps.Select(p => p.detach().clone()).ToArray();
        Tensor[] GradAt(double sign)
        {
            using (no_grad())
                for (int i = 0; i < ps.Length; i++) ps[i].copy_(saved[i] + v[i] * (sign * eps));
            return autograd.grad(new[] { loss() }, ps).Select(g => g.detach().clone()).ToArray();
        }
        try
        {
            var plus = GradAt(+1);
            var minus = GradAt(-1);
            for (int i = 0; i < ps.Length; i++)
            {
                var fd = (plus[i] - minus[i]) / (2 * eps);
                double err = (fd - hvp[i]).abs().max().item<double>();
                double size = hvp[i].abs().max().item<double>();
                Assert.True(size > minScale, $"parameter {i}: Hessian-vector product is degenerate ({size:E3})");
                Assert.True(err <= tolerance * Math.Max(1.0, size), $"parameter {i}: |fd - hvp| = {err:E3}, scale {size:E3}");
            }
        }
        finally
        {
            using (no_grad())
                for (int i = 0; i < ps.Length; i++) ps[i].copy_(saved[i]);
        }
    }
}
