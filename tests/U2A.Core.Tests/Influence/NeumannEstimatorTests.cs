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
    public void Neumann_converges_to_the_exact_hypergradient_within_its_truncation_bound()
    {
        using var _ = no_grad();
        var eig = linalg.eigvalsh(R.Hessian(R.W));
        double lmin = eig.min().item<double>(), lmax = eig.max().item<double>();
        double alpha = 1.0 / lmax;
        const int terms = 400;
        // ||(I - alpha H)^(J+1)|| <= (1 - alpha lmin)^(J+1): the relative error bound of the truncated series.
        double bound = Math.Pow(1 - alpha * lmin, terms + 1);
        using var grad = enable_grad();
        using var dir = new NeumannEstimator(alpha, terms).Estimate(R.Problem);
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
