using U2A.Core.Influence;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Influence;

/// <summary>BilevelProblem: grad J and the inner Hessian-vector product against the closed forms of weighted ridge regression.</summary>
public sealed class BilevelProblemTests : IDisposable
{
    private readonly RidgeRegressionProblem R = new();

    public void Dispose() => R.Dispose();

    [Fact]
    public void Objective_gradient_equals_the_closed_form()
    {
        var g = R.Problem.ObjectiveGradient();
        Assert.Single(g);
        Assert.False(g[0].requires_grad);
        Tensor expected;
        using (no_grad()) expected = R.ObjectiveGradient(R.Theta);
        Assert.True(expected.abs().max().item<double>() > 1e-3, "grad J is degenerate");
        RidgeRegressionProblem.AssertClose(expected.data<double>().ToArray(), g[0].data<double>().ToArray(), 1e-12, "grad J");
    }

    [Fact]
    public void Inner_hessian_vector_product_equals_the_closed_form_hessian_times_v()
    {
        var v = randn(RidgeRegressionProblem.D, dtype: float64, generator: new Generator(5));
        var hv = R.Problem.InnerHessianVectorProduct(new[] { v });
        Tensor expected;
        using (no_grad()) expected = R.Hessian(R.W).mv(v);
        RidgeRegressionProblem.AssertClose(expected.data<double>().ToArray(), hv[0].data<double>().ToArray(), 1e-12, "H v");
        var e = Assert.Throws<ArgumentException>(() => R.Problem.InnerHessianVectorProduct(new[] { zeros(3, dtype: float64) }));
        Assert.Contains("v[0] has shape [3]", e.Message);
    }

    [Fact]
    public void Frozen_or_repeated_parameters_are_rejected_naming_the_parameter()
    {
        var frozen = zeros(2, dtype: float64);
        var e = Assert.Throws<ArgumentException>(() => new BilevelProblem(new[] { frozen }, () => frozen.sum(), () => frozen.sum(), _ => frozen, 1));
        Assert.Contains("parameters[0]", e.Message);
        Assert.Contains("does not require grad", e.Message);
        var p = zeros(2, dtype: float64).requires_grad_();
        e = Assert.Throws<ArgumentException>(() => new BilevelProblem(new[] { p, p }, () => p.sum(), () => p.sum(), _ => p, 1));
        Assert.Contains("parameters[1] is listed twice", e.Message);
    }
}
