using TorchSharp;
using U2A.Core.Influence;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Influence;

/// <summary>
/// Weighted ridge regression, whose inner solution is exact: theta*(w) = (X'WX + lambda I)^-1 X'Wy. Every estimator's
/// hypergradient is compared with the exact one, which is itself checked against finite differences of the closed form.
/// </summary>
public sealed class RidgeRegressionHypergradientTests : IDisposable
{
    private const int N = 8, D = 5, M = 6;
    private const double Lambda = 0.5;
    private readonly DisposeScope _scope = NewDisposeScope();
    private readonly Tensor _x, _y, _xv, _yv, _w, _theta;
    private readonly BilevelProblem _problem;

    public RidgeRegressionHypergradientTests()
    {
        var gen = new Generator(11);
        _x = randn(N, D, dtype: float64, generator: gen);
        _y = randn(N, dtype: float64, generator: gen);
        _xv = randn(M, D, dtype: float64, generator: gen);
        _yv = randn(M, dtype: float64, generator: gen);
        _w = rand(N, dtype: float64, generator: gen).add_(0.2);
        _w.div_(_w.sum());
        _theta = Solve(_w).requires_grad_();
        _problem = new BilevelProblem(new[] { _theta }, () => InnerLoss(_theta, _w), () => Objective(_theta),
            idx => PerExample(_theta, idx), N);
    }

    public void Dispose() => _scope.Dispose();

    private Tensor PerExample(Tensor theta, IReadOnlyList<long> idx)
    {
        var i = tensor(idx.ToArray());
        return (_x.index_select(0, i).mv(theta) - _y.index_select(0, i)).pow(2) * 0.5;
    }

    private Tensor InnerLoss(Tensor theta, Tensor w) =>
        (w * ((_x.mv(theta) - _y).pow(2) * 0.5)).sum() + theta.pow(2).sum() * (0.5 * Lambda);

    private Tensor Objective(Tensor theta) => (_xv.mv(theta) - _yv).pow(2).sum() * (0.5 / M);

    private Tensor Hessian(Tensor w) => _x.t().matmul(_x * w.unsqueeze(1)) + eye(D, dtype: float64) * Lambda;

    private Tensor Solve(Tensor w) => linalg.solve(Hessian(w), _x.t().mv(w * _y));

    /// <summary>s_i = -dJ/dw_i = gradJ' H^-1 grad l_i at theta*(w), by a direct solve.</summary>
    private double[] ExactScores()
    {
        using var _ = no_grad();
        var th = Solve(_w);
        var gJ = _xv.t().mv(_xv.mv(th) - _yv) / M;
        var v = linalg.solve(Hessian(_w), gJ);
        var gl = _x * (_x.mv(th) - _y).unsqueeze(1); // row i: grad l_i
        return gl.mv(v).data<double>().ToArray();
    }

    private static void AssertClose(double[] expected, double[] actual, double relTol, string what)
    {
        double scale = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= relTol * scale,
                $"{what}: index {i}: expected {expected[i]:G10}, got {actual[i]:G10} (rel tol {relTol} of {scale:G4})");
    }

    [Fact]
    public void Exact_scores_equal_finite_differences_of_the_closed_form_solution()
    {
        var exact = ExactScores();
        const double h = 1e-6;
        var fd = new double[N];
        using (no_grad())
        {
            for (int i = 0; i < N; i++)
            {
                var e = zeros(N, dtype: float64); e[i] = tensor(h, dtype: float64);
                double jp = Objective(Solve(_w + e)).item<double>();
                double jm = Objective(Solve(_w - e)).item<double>();
                fd[i] = -(jp - jm) / (2 * h); // s_i = -dJ/dw_i
            }
        }
        AssertClose(fd, exact, 1e-7, "closed-form finite differences");
        Assert.Contains(exact, s => s > 0);
        Assert.Contains(exact, s => s < 0);
    }

    [Fact]
    public void Conjugate_gradient_matches_the_exact_hypergradient_to_1e_6()
    {
        using var dir = new ConjugateGradientEstimator(tolerance: 1e-12, maxIterations: 50).Estimate(_problem);
        var scores = new InfluenceScorer(ScoringMethod.PerExampleLoop).Score(_problem, dir);
        AssertClose(ExactScores(), scores, 1e-6, "CG");
        Assert.True(dir.Diagnostics["residual"] <= 1e-12);
        Assert.True(dir.Diagnostics["iterations"] <= D + 1, $"CG took {dir.Diagnostics["iterations"]} iterations on a {D}-dimensional problem");
    }

    [Fact]
    public void Neumann_converges_to_the_exact_hypergradient_within_its_truncation_bound()
    {
        using var _ = no_grad();
        var eig = linalg.eigvalsh(Hessian(_w));
        double lmin = eig.min().item<double>(), lmax = eig.max().item<double>();
        double alpha = 1.0 / lmax;
        const int terms = 400;
        // ||(I - alpha H)^(J+1)|| <= (1 - alpha lmin)^(J+1): the relative error bound of the truncated series.
        double bound = Math.Pow(1 - alpha * lmin, terms + 1);
        using var grad = enable_grad();
        using var dir = new NeumannEstimator(alpha, terms).Estimate(_problem);
        var scores = new InfluenceScorer(ScoringMethod.BatchedExact).Score(_problem, dir);
        AssertClose(ExactScores(), scores, Math.Max(1e-9, 10 * bound), "Neumann");
    }

    [Fact]
    public void Neumann_with_a_too_large_step_stops_with_a_divergence_error()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new NeumannEstimator(alpha: 10.0, iterations: 200).Estimate(_problem));
        Assert.Contains("diverges", e.Message);
        Assert.Contains("alpha = 10", e.Message);
    }

    [Fact]
    public void Identity_estimator_is_exact_when_the_inner_hessian_is_gamma_times_identity()
    {
        // l_i = gamma/2 ||theta - a_i||^2 with sum w = 1: H = gamma I, theta* = sum_i w_i a_i.
        const double gamma = 2.5;
        var gen = new Generator(3);
        var a = randn(N, D, dtype: float64, generator: gen);
        var theta = (_w.unsqueeze(1) * a).sum(dim: 0).detach().requires_grad_();
        Tensor Per(IReadOnlyList<long> idx) => (theta.unsqueeze(0) - a.index_select(0, tensor(idx.ToArray()))).pow(2).sum(1) * (gamma / 2);
        var problem = new BilevelProblem(new[] { theta }, () => (_w * Per(Enumerable.Range(0, N).Select(i => (long)i).ToArray())).sum(),
            () => Objective(theta), Per, N);
        using var dir = new IdentityEstimator(gamma).Estimate(problem);
        var scores = new InfluenceScorer(ScoringMethod.BatchedExact).Score(problem, dir);
        // Independent check: the inner solution has the closed form theta*(w) = sum_i w_i a_i / sum_i w_i (H = gamma sum_i w_i I),
        // so s_i = -dJ(theta*(w))/dw_i by central finite differences of that formula, at sum w = 1.
        double JAt(Tensor w)
        {
            using var _ = no_grad();
            return Objective((w.unsqueeze(1) * a).sum(dim: 0) / w.sum()).item<double>();
        }
        const double h = 1e-6;
        var exact = new double[N];
        for (int i = 0; i < N; i++)
        {
            var e = zeros(N, dtype: float64); e[i] = tensor(h, dtype: float64);
            exact[i] = -(JAt(_w + e) - JAt(_w - e)) / (2 * h);
        }
        AssertClose(exact, scores, 1e-7, "identity");
    }

    [Fact]
    public void Unrolled_k_step_scores_equal_finite_differences_of_the_unrolled_map()
    {
        const int k = 3;
        const double lr = 0.05;
        var start = _theta.detach().clone() + 0.3; // start away from the optimum so every step matters
        using (no_grad()) _theta.copy_(start);
        using var dir = new UnrolledEstimator(k, lr).Estimate(_problem);
        Assert.Equal(start.data<double>().ToArray(), _theta.detach().data<double>().ToArray()); // restored exactly
        var scores = new InfluenceScorer(ScoringMethod.BatchedExact).Score(_problem, dir);

        double Unrolled(Tensor w)
        {
            using var g = enable_grad();
            var th = start.clone().requires_grad_();
            for (int s = 0; s < k; s++)
            {
                var grad = autograd.grad(new[] { InnerLoss(th, w) }, new[] { th })[0];
                th = (th - grad * lr).detach().requires_grad_();
            }
            return Objective(th).item<double>();
        }
        const double h = 1e-6;
        var fd = new double[N];
        for (int i = 0; i < N; i++)
        {
            var e = zeros(N, dtype: float64); e[i] = tensor(h, dtype: float64);
            fd[i] = -(Unrolled(_w + e) - Unrolled(_w - e)) / (2 * h);
        }
        AssertClose(fd, scores, 1e-7, "unrolled");
    }

    [Fact]
    public void The_three_scoring_methods_agree()
    {
        using var dir = new ConjugateGradientEstimator(tolerance: 1e-12).Estimate(_problem);
        var loop = new InfluenceScorer(ScoringMethod.PerExampleLoop).Score(_problem, dir);
        var batched = new InfluenceScorer(ScoringMethod.BatchedExact, chunkSize: 3).Score(_problem, dir);
        var fd = new InfluenceScorer(ScoringMethod.FiniteDifference, chunkSize: 5, finiteDifferenceStep: 1e-4).Score(_problem, dir);
        AssertClose(loop, batched, 1e-12, "batched vs loop");
        AssertClose(loop, fd, 1e-7, "finite differences vs loop");
        var before = _theta.detach().clone();
        Assert.Equal(before.data<double>().ToArray(), _theta.detach().data<double>().ToArray());
    }
}
