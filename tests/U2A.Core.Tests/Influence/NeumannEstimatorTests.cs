using TorchSharp;
using U2A.Core.Influence;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.RidgeRegressionProblem;

namespace U2A.Core.Tests.Influence;

/// <summary>NeumannEstimator on weighted ridge regression, whose exact hypergradient is known.</summary>
public sealed class NeumannEstimatorTests : IDisposable
{
    private readonly RidgeRegressionProblem R = new();

    public void Dispose() => R.Dispose();

    [Fact]
    public void Neumann_equals_the_truncated_series_in_closed_form_and_converges_to_the_exact_hypergradient()
    {
        using var _ = no_grad();
        var h = R.Hessian(R.W);
        var eig = linalg.eigvalsh(h);
        double lmin = eig.min().item<double>(), lmax = eig.max().item<double>();
        double alpha = 1.0 / lmax;
        var g = R.ObjectiveGradient(R.Theta);
        // alpha sum_{j=0..J} (I - alpha H)^j g = H^-1 (I - (I - alpha H)^(J+1)) g, by a dense solve (independent of the estimator).
        double[] Truncated(int terms)
        {
            var m = eye(D, dtype: float64) - h * alpha;
            var power = eye(D, dtype: float64);
            for (int k = 0; k <= terms; k++) power = power.matmul(m);
            return linalg.solve(h, (eye(D, dtype: float64) - power).mv(g)).data<double>().ToArray();
        }
        using var grad = enable_grad();
        // Few terms: far from converged, so the exact count of terms shows.
        using (var few = new NeumannEstimator(alpha, 10).Estimate(R.Problem))
        {
            var v = few.Terms[0].Direction[0].data<double>().ToArray();
            AssertClose(Truncated(10), v, 1e-12, "Neumann, 10 terms");
            double[] converged = Truncated(400);
            Assert.True(v.Zip(converged, (a, b) => Math.Abs(a - b)).Max() > 1e-3 * converged.Max(Math.Abs), "10 terms already converged: the check cannot see the term count");
        }
        const int terms = 400;
        // ||(I - alpha H)^(J+1)|| <= (1 - alpha lmin)^(J+1): the relative error bound of the truncated series.
        double bound = Math.Pow(1 - alpha * lmin, terms + 1);
        Assert.True(bound < 1e-6, $"the truncation bound {bound:G3} is too loose for a convergence check");
        using var dir = new NeumannEstimator(alpha, terms).Estimate(R.Problem);
        AssertClose(Truncated(terms), dir.Terms[0].Direction[0].data<double>().ToArray(), 1e-12, "Neumann, 400 terms");
        var scores = new InfluenceScorer(ScoringMethod.BatchedExact).Score(R.Problem, dir);
        AssertClose(R.ExactScores(), scores, Math.Max(1e-9, 10 * bound), "Neumann");
    }

    [Fact]
    public void Neumann_with_a_too_large_step_stops_with_a_divergence_error()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new NeumannEstimator(alpha: 10.0, iterations: 200).Estimate(R.Problem));
        Assert.Contains("diverges", e.Message);
        Assert.Contains("alpha = 10", e.Message);
    }
}
