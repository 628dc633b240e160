using TorchSharp;
using U2A.Core.Influence;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.RidgeRegressionProblem;

namespace U2A.Core.Tests.Influence;

/// <summary>IdentityEstimator: exact when the inner Hessian is gamma I, and predictive on a float64 tiny LM.</summary>
public sealed class IdentityEstimatorTests : IDisposable
{
    private readonly RidgeRegressionProblem R = new();
    private TinyLmFixture? _f;
    private TinyLmFixture F => _f ??= new();
    private const int Steps = 3;
    private const double Lr = 0.5;

    public void Dispose()
    {
        _f?.Dispose();
        R.Dispose();
    }

    [Fact]
    public void Direction_is_the_objective_gradient_divided_by_gamma()
    {
        const double gamma = 4.0;
        using var dir = new IdentityEstimator(gamma).Estimate(R.Problem);
        var term = Assert.Single(dir.Terms);
        Assert.Null(term.Point);
        Tensor gJ;
        using (no_grad()) gJ = R.ObjectiveGradient(R.Theta);
        var expected = gJ.data<double>().Select(x => x / gamma).ToArray();
        Assert.True(expected.Max(Math.Abs) > 1e-4, "grad J is degenerate");
        AssertClose(expected, term.Direction[0].data<double>().ToArray(), 1e-12, "grad J / gamma");
        Assert.Equal(Math.Sqrt(expected.Sum(x => x * x)), dir.Diagnostics["direction_norm"], 12);
    }

    [Fact]
    public void Identity_estimator_is_exact_when_the_inner_hessian_is_gamma_times_identity()
    {
        // l_i = gamma/2 ||theta - a_i||^2 with sum w = 1: H = gamma I, theta* = sum_i w_i a_i.
        const double gamma = 2.5;
        var gen = new Generator(3);
        var a = randn(N, D, dtype: float64, generator: gen);
        var theta = (R.W.unsqueeze(1) * a).sum(dim: 0).detach().requires_grad_();
        Tensor Per(IReadOnlyList<long> idx) => (theta.unsqueeze(0) - a.index_select(0, tensor(idx.ToArray()))).pow(2).sum(1) * (gamma / 2);
        var problem = new BilevelProblem(new[] { theta }, () => (R.W * Per(Enumerable.Range(0, N).Select(i => (long)i).ToArray())).sum(),
            () => R.Objective(theta), Per, N);
        using var dir = new IdentityEstimator(gamma).Estimate(problem);
        var scores = new InfluenceScorer(ScoringMethod.BatchedExact).Score(problem, dir);
        // Independent check: the inner solution has the closed form theta*(w) = sum_i w_i a_i / sum_i w_i (H = gamma sum_i w_i I),
        // so s_i = -dJ(theta*(w))/dw_i by central finite differences of that formula, at sum w = 1.
        double JAt(Tensor w)
        {
            using var _ = no_grad();
            return R.Objective((w.unsqueeze(1) * a).sum(dim: 0) / w.sum()).item<double>();
        }
        const double h = 1e-6;
        var exact = new double[N];
        for (int i = 0; i < N; i++)
        {
            var e = zeros(N, dtype: float64); e[i] = tensor(h, dtype: float64);
            exact[i] = -(JAt(R.W + e) - JAt(R.W - e)) / (2 * h);
        }
        AssertClose(exact, scores, 1e-7, "identity");
    }

    [Fact]
    public void Identity_scores_predict_the_sign_of_J_after_the_real_adamw_inner_unlearning()
    {
        // Scores from the reference code's estimator, checked against the inner optimiser BilevelOptimizer really runs
        // (AdamW through TrainingLoop), not against the map the scores were derived from.
        var problem = F.Problem();
        using var dir = new IdentityEstimator().Estimate(problem);
        var s = new InfluenceScorer(ScoringMethod.BatchedExact).Score(problem, dir);
        const int steps = 5;
        const double lr = 1e-3;
        double j0 = F.JAfterAdamW(F.Weights, steps, lr);
        int top = Enumerable.Range(0, F.N).MaxBy(i => s[i]), bottom = Enumerable.Range(0, F.N).MinBy(i => s[i]);
        double Raise(int i) { var w = F.Weights.ToArray(); w[i] += 1.0 / F.N; return F.JAfterAdamW(w, steps, lr); }
        double jTop = Raise(top), jBottom = Raise(bottom);
        Assert.True(jTop < j0 && j0 < jBottom, $"J: top raised {jTop:G6}, uniform {j0:G6}, bottom raised {jBottom:G6}");
    }
}
