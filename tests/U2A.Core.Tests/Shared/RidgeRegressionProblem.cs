using TorchSharp;
using U2A.Core.Influence;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Shared;

/// <summary>
/// Weighted ridge regression, whose inner solution is exact: theta*(w) = (X'WX + lambda I)^-1 X'Wy. The hypergradient
/// estimators' results are compared with <see cref="ExactScores"/>, which a test checks against finite differences of
/// the closed form. Opens a dispose scope on construction (tensors of the test land in it) and closes it on Dispose.
/// </summary>
internal sealed class RidgeRegressionProblem : IDisposable
{
    public const int N = 8, D = 5, M = 6;
    public const double Lambda = 0.5;
    private readonly DisposeScope _scope = NewDisposeScope();
    private readonly Tensor _x, _y, _xv, _yv;

    public RidgeRegressionProblem()
    {
        var gen = new Generator(11);
        _x = randn(N, D, dtype: float64, generator: gen);
        _y = randn(N, dtype: float64, generator: gen);
        _xv = randn(M, D, dtype: float64, generator: gen);
        _yv = randn(M, dtype: float64, generator: gen);
        W = rand(N, dtype: float64, generator: gen).add_(0.2);
        W.div_(W.sum());
        Theta = Solve(W).requires_grad_();
        Problem = new BilevelProblem(new[] { Theta }, () => InnerLoss(Theta, W), () => Objective(Theta),
            idx => PerExample(Theta, idx), N);
    }

    /// <summary>The example weights w (sum 1).</summary>
    public Tensor W { get; }

    /// <summary>The parameter, at theta*(w).</summary>
    public Tensor Theta { get; }

    /// <summary>The bilevel problem on <see cref="Theta"/> with weights <see cref="W"/>.</summary>
    public BilevelProblem Problem { get; }

    public void Dispose() => _scope.Dispose();

    public Tensor PerExample(Tensor theta, IReadOnlyList<long> idx)
    {
        var i = tensor(idx.ToArray());
        return (_x.index_select(0, i).mv(theta) - _y.index_select(0, i)).pow(2) * 0.5;
    }

    public Tensor InnerLoss(Tensor theta, Tensor w) =>
        (w * ((_x.mv(theta) - _y).pow(2) * 0.5)).sum() + theta.pow(2).sum() * (0.5 * Lambda);

    public Tensor Objective(Tensor theta) => (_xv.mv(theta) - _yv).pow(2).sum() * (0.5 / M);

    /// <summary>grad J(theta) = Xv'(Xv theta - yv) / M, in closed form.</summary>
    public Tensor ObjectiveGradient(Tensor theta) => _xv.t().mv(_xv.mv(theta) - _yv) / M;

    public Tensor Hessian(Tensor w) => _x.t().matmul(_x * w.unsqueeze(1)) + eye(D, dtype: float64) * Lambda;

    public Tensor Solve(Tensor w) => linalg.solve(Hessian(w), _x.t().mv(w * _y));

    /// <summary>s_i = -dJ/dw_i = gradJ' H^-1 grad l_i at theta*(w), by a direct solve.</summary>
    public double[] ExactScores()
    {
        using var _ = no_grad();
        var th = Solve(W);
        var gJ = ObjectiveGradient(th);
        var v = linalg.solve(Hessian(W), gJ);
        var gl = _x * (_x.mv(th) - _y).unsqueeze(1); // row i: grad l_i
        return gl.mv(v).data<double>().ToArray();
    }

    /// <summary>Asserts |expected_i - actual_i| &lt;= relTol * max |expected| for every i.</summary>
    public static void AssertClose(double[] expected, double[] actual, double relTol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= relTol * scale,
                $"{what}: index {i}: expected {expected[i]:G10}, got {actual[i]:G10} (rel tol {relTol} of {scale:G4})");
    }
}
