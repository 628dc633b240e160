using static TorchSharp.torch;

namespace U2A.Testing;

/// <summary>
/// The kit's way into <c>torch.autograd.grad</c>: TorchSharp aborts the process on an autograd error, so everything it would
/// refuse is checked first and the caller decides what a failure means.
/// </summary>
internal static class Autograd
{
    /// <summary>
    /// d output / d inputs for a scalar with an autograd graph; an input the output does not use gets zeros. The caller has
    /// checked that the output requires grad and every input requires grad.
    /// </summary>
    public static Tensor[] Gradient(Tensor output, IReadOnlyList<Tensor> inputs)
    {
        if (!output.requires_grad) throw new InvalidOperationException("internal: the output has no autograd graph.");
        var grads = autograd.grad(new[] { output.numel() == 1 && output.dim() != 0 ? output.reshape(Array.Empty<long>()) : output }, inputs.ToArray(), allow_unused: true);
        var result = new Tensor[inputs.Count];
        for (int i = 0; i < result.Length; i++)
            result[i] = grads[i] is null || grads[i].IsInvalid ? zeros_like(inputs[i]) : grads[i];
        return result;
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless the parameters are distinct live tensors that require grad (and, when asked, are float64).</summary>
    public static void CheckParameters(IReadOnlyList<Tensor> parameters, string paramName, string check, bool requireFloat64)
    {
        ArgumentNullException.ThrowIfNull(parameters, paramName);
        if (parameters.Count == 0) throw new ArgumentException($"{check}: {paramName} is empty; there is nothing to check.", paramName);
        var seen = new HashSet<IntPtr>();
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i];
            if (p is null || p.IsInvalid) throw new ArgumentException($"{check}: {paramName}[{i}] is null or disposed.", paramName);
            if (requireFloat64 && p.dtype != ScalarType.Float64)
                throw new ArgumentException($"{check} needs float64 parameters, but {paramName}[{i}] {Shape(p)} is {p.dtype}: finite differences in single " +
                    "precision are dominated by rounding. Build the model in Float64 (TinyModels.Gpt2(seed, dtype: ScalarType.Float64), " +
                    "new Gpt2LM(config, dtype: ScalarType.Float64), ...) or convert it with .to(ScalarType.Float64) before checking.", paramName);
            if (!p.is_floating_point()) throw new ArgumentException($"{check}: {paramName}[{i}] is {p.dtype}; only floating-point tensors have gradients.", paramName);
            if (!p.requires_grad) throw new ArgumentException($"{check}: {paramName}[{i}] {Shape(p)} does not require grad; set requires_grad = true or leave it out.", paramName);
            if (!seen.Add(p.Handle)) throw new ArgumentException($"{check}: {paramName}[{i}] is listed twice.", paramName);
        }
    }

    /// <summary>Copies of the parameters' values (no graph).</summary>
    public static Tensor[] Snapshot(IReadOnlyList<Tensor> parameters)
    {
        using var noGrad = no_grad();
        return parameters.Select(p => p.detach().clone().DetachFromDisposeScope()).ToArray();
    }

    /// <summary>Copies <paramref name="snapshot"/> back into the parameters, in place.</summary>
    public static void Restore(IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor> snapshot)
    {
        using var noGrad = no_grad();
        for (int i = 0; i < parameters.Count; i++) parameters[i].copy_(snapshot[i]);
    }

    /// <summary>"[2, 3]".</summary>
    public static string Shape(Tensor t) => $"[{string.Join(", ", t.shape)}]";

    /// <summary>"(1, 2)" for the element at flat index <paramref name="flat"/> of a tensor of shape <paramref name="shape"/>.</summary>
    public static long[] Unravel(long flat, long[] shape)
    {
        var index = new long[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            index[d] = flat % shape[d];
            flat /= shape[d];
        }
        return index;
    }

    /// <summary>Pearson correlation of two equally long series; NaN when either is constant or shorter than 2.</summary>
    public static double Correlation(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        int n = x.Count;
        if (n < 2) return double.NaN;
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < n; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxx > 0 && syy > 0 ? sxy / Math.Sqrt(sxx * syy) : double.NaN;
    }
}
