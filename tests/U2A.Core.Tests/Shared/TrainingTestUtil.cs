using System.Runtime.InteropServices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Shared;

internal static class TrainingTestUtil
{
    /// <summary>Detached copies of the parameters' current values.</summary>
    public static Tensor[] Snapshot(IEnumerable<Parameter> parameters)
    {
        using var noGrad = no_grad();
        return parameters.Select(p => p.detach().clone().DetachFromDisposeScope()).ToArray();
    }

    public static void CopyInto(IReadOnlyList<Parameter> parameters, IReadOnlyList<Tensor> values)
    {
        using var noGrad = no_grad();
        for (int i = 0; i < parameters.Count; i++) parameters[i].copy_(values[i]);
    }

    /// <summary>The raw bytes of a tensor's values (bitwise comparison).</summary>
    public static byte[] Bytes(Tensor t)
    {
        using var c = t.detach().cpu().contiguous();
        return c.dtype switch
        {
            ScalarType.Float32 => MemoryMarshal.AsBytes(c.data<float>().ToArray().AsSpan()).ToArray(),
            ScalarType.Float64 => MemoryMarshal.AsBytes(c.data<double>().ToArray().AsSpan()).ToArray(),
            _ => throw new NotSupportedException(c.dtype.ToString()),
        };
    }

    public static void AssertBitwiseEqual(IReadOnlyList<Tensor> expected, IReadOnlyList<Tensor> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
            Assert.True(Bytes(expected[i]).AsSpan().SequenceEqual(Bytes(actual[i])), $"parameter {i} differs bitwise (max |diff| {(expected[i] - actual[i]).abs().max().ToDouble()}).");
    }

    public static double MaxAbsDiff(IReadOnlyList<Tensor> a, IReadOnlyList<Tensor> b)
        => a.Zip(b).Max(p => (p.First - p.Second).abs().max().ToDouble());

    /// <summary>A float64 linear regression: 8 examples, 3 features, weight [3] and bias [1].</summary>
    public sealed class Regression : IDisposable
    {
        public Regression(long seed = 1)
        {
            var gen = new Generator((ulong)seed);
            X = randn(8, 3, dtype: ScalarType.Float64, generator: gen).DetachFromDisposeScope();
            Y = randn(8, 2, dtype: ScalarType.Float64, generator: gen).DetachFromDisposeScope();
            W = new Parameter(randn(3, 2, dtype: ScalarType.Float64, generator: gen));
            B = new Parameter(zeros(2, dtype: ScalarType.Float64));
            Parameters = new[] { W, B };
        }

        public Tensor X { get; }
        public Tensor Y { get; }
        public Parameter W { get; }
        public Parameter B { get; }
        public Parameter[] Parameters { get; }

        /// <summary>Mean over the selected examples of each example's summed squared error (a mean of sums).</summary>
        public Tensor Loss(long[] rows)
        {
            using var idx = tensor(rows);
            var x = X.index_select(0, idx);
            var y = Y.index_select(0, idx);
            return (x.matmul(W) + B - y).pow(2).sum(1).mean();
        }

        public void Dispose()
        {
            X.Dispose(); Y.Dispose(); W.Dispose(); B.Dispose();
        }
    }
}
