using TorchSharp;
using U2A.Core.Influence;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.RidgeRegressionProblem;

namespace U2A.Core.Tests.Influence;

/// <summary>ConjugateGradientEstimator on weighted ridge regression (exact hypergradient known) and on a float64 tiny LM.</summary>
public sealed class ConjugateGradientEstimatorTests : IDisposable
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
    public void Conjugate_gradient_matches_the_exact_hypergradient_to_1e_6()
    {
        using var dir = new ConjugateGradientEstimator(tolerance: 1e-12, maxIterations: 50).Estimate(R.Problem);
        var scores = new InfluenceScorer(ScoringMethod.PerExampleLoop).Score(R.Problem, dir);
        AssertClose(R.ExactScores(), scores, 1e-6, "CG");
        Assert.True(dir.Diagnostics["residual"] <= 1e-12);
        Assert.True(dir.Diagnostics["iterations"] <= D + 1, $"CG took {dir.Diagnostics["iterations"]} iterations on a {D}-dimensional problem");
    }

    [Fact]
    public void Conjugate_gradient_on_the_tiny_lm_reaches_its_tolerance_and_agrees_across_scoring_methods()
    {
        // Gradient ascent has negative curvature; a strong parameter regulariser makes the inner problem strongly convex.
        using var f = new TinyLmFixture(regularizer: 500);
        var problem = f.Problem();
        using var dir = new ConjugateGradientEstimator(tolerance: 1e-8, maxIterations: 200).Estimate(problem);
        Assert.True(dir.Diagnostics["residual"] <= 1e-8, $"residual {dir.Diagnostics["residual"]:G3} after {dir.Diagnostics["iterations"]} iterations");
        var loop = new InfluenceScorer(ScoringMethod.PerExampleLoop).Score(problem, dir);
        var batched = new InfluenceScorer(ScoringMethod.BatchedExact).Score(problem, dir);
        for (int i = 0; i < loop.Length; i++) Assert.Equal(loop[i], batched[i], 1e-9);
    }

    [Fact]
    public void Conjugate_gradient_refuses_an_indefinite_inner_hessian_with_a_clear_message()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new ConjugateGradientEstimator(maxIterations: 50).Estimate(F.Problem()));
        Assert.Contains("not positive definite", e.Message);
        Assert.Contains("raise the damping", e.Message);
    }
}
