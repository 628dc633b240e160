using static TorchSharp.torch;

namespace U2A.Core.Influence;

/// <summary>
/// Vector arithmetic on lists of tensors shaped like the trainable parameters (the elements of the parameter space
/// that gradients, Hessian-vector products and influence directions live in). Results carry no autograd graph.
/// </summary>
internal static class ParameterVector
{
    public static Tensor[] Clone(IReadOnlyList<Tensor> a)
    {
        using var _ = no_grad(); // clone under no_grad: no graph and no intermediate detached handle to leak
        return a.Select(t => t.clone()).ToArray();
    }

    public static Tensor[] ZerosLike(IReadOnlyList<Tensor> a) => a.Select(t => zeros_like(t)).ToArray();

    /// <summary>Inner product as a 0-dim tensor on the parameters' device (no host sync).</summary>
    public static Tensor DotTensor(IReadOnlyList<Tensor> a, IReadOnlyList<Tensor> b)
    {
        Tensor? total = null;
        for (int i = 0; i < a.Count; i++)
        {
            var d = (a[i] * b[i]).sum();
            total = total is null ? d : total + d;
        }
        return total ?? tensor(0.0);
    }

    public static double Dot(IReadOnlyList<Tensor> a, IReadOnlyList<Tensor> b)
    {
        using var scope = NewDisposeScope();
        return DotTensor(a, b).to_type(ScalarType.Float64).item<double>();
    }

    public static double Norm(IReadOnlyList<Tensor> a) => Math.Sqrt(Dot(a, a));

    /// <summary>a + alpha * b, new tensors.</summary>
    public static Tensor[] Add(IReadOnlyList<Tensor> a, IReadOnlyList<Tensor> b, double alpha = 1.0) =>
        a.Select((t, i) => t.add(b[i], alpha)).ToArray();

    public static Tensor[] Scale(IReadOnlyList<Tensor> a, double alpha) => a.Select(t => t.mul(alpha)).ToArray();

    /// <summary>a += alpha * b in place.</summary>
    public static void AddInPlace(IReadOnlyList<Tensor> a, IReadOnlyList<Tensor> b, double alpha = 1.0)
    {
        using var _ = no_grad();
        for (int i = 0; i < a.Count; i++) a[i].add_(b[i], alpha);
    }

    /// <summary>Copies <paramref name="source"/> into <paramref name="target"/> in place (parameters keep their identity).</summary>
    public static void CopyInto(IReadOnlyList<Tensor> target, IReadOnlyList<Tensor> source)
    {
        using var _ = no_grad();
        for (int i = 0; i < target.Count; i++) target[i].copy_(source[i]);
    }

    public static bool AllFinite(IReadOnlyList<Tensor> a)
    {
        using var scope = NewDisposeScope();
        foreach (var t in a)
            if (!t.isfinite().all().item<bool>()) return false;
        return true;
    }

    public static void MoveToOuter(IReadOnlyList<Tensor> a)
    {
        foreach (var t in a) t.MoveToOuterDisposeScope();
    }

    public static void DisposeAll(IEnumerable<Tensor> a)
    {
        foreach (var t in a) t.Dispose();
    }
}
