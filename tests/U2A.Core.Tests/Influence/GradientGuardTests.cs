using TorchSharp;
using U2A.Core.Influence;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Influence;

/// <summary>GradientGuard: the checks that turn native autograd aborts into exceptions naming the output.</summary>
public sealed class GradientGuardTests : IDisposable
{
    private readonly DisposeScope _scope = NewDisposeScope();

    public void Dispose() => _scope.Dispose();

    [Fact]
    public void Grad_of_an_output_of_other_tensors_is_an_error_unless_unused_is_allowed()
    {
        var p = ones(3, dtype: float64).requires_grad_();
        var other = ones(3, dtype: float64).requires_grad_();
        var output = (other * 2).sum();
        var e = Assert.Throws<InvalidOperationException>(() => GradientGuard.Grad(output, new[] { p }, "the test output", "Fix it."));
        Assert.Contains("the test output requires grad but depends on none of the 1 tensors", e.Message);
        var zerosResult = GradientGuard.Grad((other * 2).sum(), new[] { p }, "the test output", "Fix it.", unusedIsError: false);
        Assert.Equal(new double[3], zerosResult[0].data<double>().ToArray());
    }

    [Fact]
    public void Grad_returns_the_gradient_and_zeros_for_inputs_the_output_does_not_use()
    {
        var p = tensor(new[] { 1.0, -2.0 }, dtype: float64).requires_grad_();
        var q = ones(2, dtype: float64).requires_grad_();
        var g = GradientGuard.Grad(p.pow(2).sum(), new[] { p, q }, "sum p^2", "Fix it.");
        Assert.Equal(new[] { 2.0, -4.0 }, g[0].data<double>().ToArray());
        Assert.Equal(new double[2], g[1].data<double>().ToArray());
    }

    [Fact]
    public void CheckOutput_names_the_output_and_the_problem()
    {
        var p = ones(2, dtype: float64).requires_grad_();
        Assert.Contains("must be a scalar", Assert.Throws<InvalidOperationException>(() => GradientGuard.CheckOutput(p * 2, "J", "")).Message);
        Assert.Contains("J does not depend on the trainable parameters", Assert.Throws<InvalidOperationException>(() => GradientGuard.CheckOutput(ones(1), "J", "")).Message);
        Assert.Contains("J is null", Assert.Throws<InvalidOperationException>(() => GradientGuard.CheckOutput(null, "J", "")).Message);
        using (no_grad())
            Assert.Contains("torch.no_grad()", Assert.Throws<InvalidOperationException>(() => GradientGuard.CheckOutput(p.sum(), "J", "")).Message);
        Assert.Contains("parameter 0 [2] does not require grad",
            Assert.Throws<InvalidOperationException>(() => GradientGuard.CheckInputs(new[] { zeros(2) }, "J")).Message);
    }
}
