using static TorchSharp.torch;

namespace U2A.Core.Tests.Shared;

/// <summary>Autograd gradients of <c>u . f(x)</c> against float64 central finite differences.</summary>
internal static class FiniteDifferences
{
    /// <summary>Asserts that the gradient of <c>sum_i u_i f(x)_i</c> w.r.t. x matches central differences with step <paramref name="h"/>.</summary>
    public static void AssertGradientMatches(Func<Tensor, Tensor> f, double[] x, double h = 1e-6, double tolerance = 1e-7)
    {
        using var scope = NewDisposeScope();
        var input = tensor(x, requires_grad: true);
        var output = f(input);
        var u = linspace(0.5, 1.5, output.numel(), dtype: ScalarType.Float64).reshape(output.shape);
        var autogradGrad = autograd.grad(new[] { (output * u).sum() }, new[] { input })[0].data<double>().ToArray();
        for (int i = 0; i < x.Length; i++)
        {
            double Eval(double delta)
            {
                var shifted = (double[])x.Clone();
                shifted[i] += delta;
                using var noGrad = no_grad();
                return (f(tensor(shifted)) * u).sum().item<double>();
            }
            double numeric = (Eval(h) - Eval(-h)) / (2 * h);
            Assert.True(Math.Abs(numeric - autogradGrad[i]) <= tolerance * Math.Max(1.0, Math.Abs(numeric)),
                $"d/dx[{i}]: autograd {autogradGrad[i]:R}, central difference {numeric:R}");
        }
    }
}
