using TorchSharp;
using U2A.Core.Influence;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Influence;

/// <summary>ParameterVector: vector arithmetic over lists of parameter-shaped tensors, checked on hand numbers.</summary>
public sealed class ParameterVectorTests : IDisposable
{
    private readonly DisposeScope _scope = NewDisposeScope();
    private readonly Tensor[] _a = { tensor(new[] { 1.0, 2.0 }, dtype: float64), tensor(new[] { 3.0, -1.0, 0.5, 2.0 }, dtype: float64).reshape(2, 2) };
    private readonly Tensor[] _b = { tensor(new[] { -2.0, 0.5 }, dtype: float64), tensor(new[] { 1.0, 4.0, -2.0, 0.0 }, dtype: float64).reshape(2, 2) };

    public void Dispose() => _scope.Dispose();

    private static double[] Flat(IReadOnlyList<Tensor> v) => v.SelectMany(t => t.data<double>().ToArray()).ToArray();

    [Fact]
    public void Dot_and_norm_sum_over_every_tensor_of_the_list()
    {
        // 1*-2 + 2*0.5 + 3*1 + -1*4 + 0.5*-2 + 2*0 = -2 + 1 + 3 - 4 - 1 + 0 = -3.
        Assert.Equal(-3.0, ParameterVector.Dot(_a, _b), 14);
        Assert.Equal(-3.0, ParameterVector.DotTensor(_a, _b).item<double>(), 14);
        // |a|^2 = 1 + 4 + 9 + 1 + 0.25 + 4 = 19.25.
        Assert.Equal(Math.Sqrt(19.25), ParameterVector.Norm(_a), 14);
    }

    [Fact]
    public void Clone_is_an_independent_copy_without_a_graph()
    {
        var p = _a.Select(t => t.clone().requires_grad_()).ToArray();
        var c = ParameterVector.Clone(p);
        Assert.All(c, t => Assert.False(t.requires_grad));
        Assert.Equal(Flat(_a), Flat(c));
        using (no_grad()) p[0].add_(10.0);
        Assert.Equal(Flat(_a), Flat(c)); // the clone did not follow the change
    }

    [Fact]
    public void Add_scale_and_in_place_add_compute_a_plus_alpha_b()
    {
        var expected = Flat(_a).Zip(Flat(_b), (x, y) => x + 0.5 * y).ToArray();
        Assert.Equal(expected, Flat(ParameterVector.Add(_a, _b, 0.5)));
        Assert.Equal(Flat(_b).Select(y => -2 * y), Flat(ParameterVector.Scale(_b, -2)));
        var target = ParameterVector.Clone(_a);
        ParameterVector.AddInPlace(target, _b, 0.5);
        Assert.Equal(expected, Flat(target));
        Assert.Equal(new double[6], Flat(ParameterVector.ZerosLike(_a)));
    }

    [Fact]
    public void CopyInto_overwrites_the_target_in_place_keeping_its_identity()
    {
        var target = ParameterVector.ZerosLike(_a);
        var handles = target.Select(t => t.Handle).ToArray();
        ParameterVector.CopyInto(target, _b);
        Assert.Equal(Flat(_b), Flat(target));
        Assert.Equal(handles, target.Select(t => t.Handle));
    }

    [Fact]
    public void AllFinite_finds_a_single_non_finite_entry_in_any_tensor()
    {
        Assert.True(ParameterVector.AllFinite(_a));
        var bad = ParameterVector.Clone(_a);
        bad[1][1, 0] = tensor(double.NaN, dtype: float64);
        Assert.False(ParameterVector.AllFinite(bad));
        bad[1][1, 0] = tensor(double.PositiveInfinity, dtype: float64);
        Assert.False(ParameterVector.AllFinite(bad));
    }
}
