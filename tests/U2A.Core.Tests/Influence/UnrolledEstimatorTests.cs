using TorchSharp;
using U2A.Core.Influence;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.RidgeRegressionProblem;

namespace U2A.Core.Tests.Influence;

/// <summary>UnrolledEstimator against finite differences of the unrolled inner map on weighted ridge regression.</summary>
public sealed class UnrolledEstimatorTests : IDisposable
{
    private readonly RidgeRegressionProblem R = new();

    public void Dispose() => R.Dispose();

    [Fact]
    public void Unrolled_k_step_scores_equal_finite_differences_of_the_unrolled_map()
    {
        const int k = 3;
        const double lr = 0.05;
        var start = R.Theta.detach().clone() + 0.3; // start away from the optimum so every step matters
        using (no_grad()) R.Theta.copy_(start);
        using var dir = new UnrolledEstimator(k, lr).Estimate(R.Problem);
        Assert.Equal(start.data<double>().ToArray(), R.Theta.detach().data<double>().ToArray()); // restored exactly
        var scores = new InfluenceScorer(ScoringMethod.BatchedExact).Score(R.Problem, dir);

        double Unrolled(Tensor w)
        {
            using var g = enable_grad();
            var th = start.clone().requires_grad_();
            for (int s = 0; s < k; s++)
            {
                var grad = autograd.grad(new[] { R.InnerLoss(th, w) }, new[] { th })[0];
                th = (th - grad * lr).detach().requires_grad_();
            }
            return R.Objective(th).item<double>();
        }
        const double h = 1e-6;
        var fd = new double[N];
        for (int i = 0; i < N; i++)
        {
            var e = zeros(N, dtype: float64); e[i] = tensor(h, dtype: float64);
            fd[i] = -(Unrolled(R.W + e) - Unrolled(R.W - e)) / (2 * h);
        }
        AssertClose(fd, scores, 1e-7, "unrolled");
    }
}
