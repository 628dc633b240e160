using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Shared;

internal static class AlignmentAssert
{
    /// <summary>Two ways of computing J give the same value and the same gradient w.r.t. every trainable parameter (float64, 1e-12).</summary>
    public static void SameValueAndGradient(ICausalLM model, Func<ICausalLM, Tensor> first, Func<ICausalLM, Tensor> second)
    {
        using var scope = NewDisposeScope();
        var parameters = model.TrainableParameters.Cast<Tensor>().ToArray();
        var a = first(model);
        var b = second(model);
        Assert.Equal(a.item<double>(), b.item<double>(), 12);
        var ga = autograd.grad(new[] { a }, parameters);
        var gb = autograd.grad(new[] { b }, parameters);
        for (int i = 0; i < parameters.Length; i++)
            Assert.True(allclose(ga[i], gb[i], rtol: 1e-10, atol: 1e-12), $"gradient of tensor {i} differs");
    }
}
