using TorchSharp;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Toolchain;

public class TorchSharpTests
{
    [Fact]
    public void TorchSharp_initialises_on_cpu_and_computes()
    {
        using var scope = NewDisposeScope();
        var a = tensor(new double[] { 1, 2, 3, 4 }).reshape(2, 2);
        var b = a.matmul(a);
        Assert.Equal(new double[] { 7, 10, 15, 22 }, b.data<double>().ToArray());
        Assert.Equal(DeviceType.CPU, b.device_type);
    }

    [Fact]
    public void Double_backward_gives_the_hessian_of_a_cubic()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new double[] { 0.5, -2.0 }, requires_grad: true);
        var f = x.pow(3).sum();
        var g = autograd.grad(new[] { f }, new[] { x }, retain_graph: true, create_graph: true)[0];
        var hv = autograd.grad(new[] { g.dot(tensor(new double[] { 1.0, 1.0 })) }, new[] { x })[0];
        Assert.Equal(new double[] { 3.0, -12.0 }, hv.data<double>().ToArray()); // d2/dx2 x^3 = 6x
    }
}
