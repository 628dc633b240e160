using U2A.Core.Influence;
using U2A.Core.Selection;

namespace U2A.Core.Tests.Influence;

/// <summary>Influence scores on a float64 tiny causal LM: the three scoring methods, prediction, and the sign convention.</summary>
public sealed class TinyLmInfluenceTests : IDisposable
{
    private readonly TinyLmFixture _f = new();
    private const int Steps = 3;
    private const double Lr = 0.5;

    public void Dispose() => _f.Dispose();

    [Fact]
    public void Batched_exact_scores_equal_the_per_example_loop_and_finite_differences_rank_them_alike()
    {
        var problem = _f.Problem();
        using var dir = new IdentityEstimator().Estimate(problem);
        var loop = new InfluenceScorer(ScoringMethod.PerExampleLoop).Score(problem, dir);
        var batched = new InfluenceScorer(ScoringMethod.BatchedExact, chunkSize: 5).Score(problem, dir);
        var fd = new InfluenceScorer(ScoringMethod.FiniteDifference, chunkSize: 7, finiteDifferenceStep: 1e-3).Score(problem, dir);
        double scale = loop.Max(Math.Abs);
        Assert.True(scale > 1e-6, "scores are degenerate");
        for (int i = 0; i < loop.Length; i++)
            Assert.True(Math.Abs(loop[i] - batched[i]) <= 1e-6 * Math.Abs(loop[i]) + 1e-12 * scale, $"example {i}: loop {loop[i]:G12}, batched {batched[i]:G12}");
        double rho = U2A.Core.Evaluation.SeedStatistics.Spearman(loop, fd);
        Assert.True(rho >= 0.99, $"Spearman(fd, exact) = {rho:F4}");
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
        var e = Assert.Throws<InvalidOperationException>(() => new ConjugateGradientEstimator(maxIterations: 50).Estimate(_f.Problem()));
        Assert.Contains("not positive definite", e.Message);
        Assert.Contains("raise the damping", e.Message);
    }

    [Fact]
    public void Predicted_change_of_J_agrees_in_sign_with_rerunning_the_inner_steps_for_the_top_half()
    {
        var problem = _f.Problem();
        using var dir = new UnrolledEstimator(Steps, Lr).Estimate(problem);
        var s = new InfluenceScorer(ScoringMethod.BatchedExact).Score(problem, dir);
        double j0 = _f.JAfterInner(_f.Weights, Steps, Lr);
        double delta = 0.1 / _f.N;
        var topHalf = Enumerable.Range(0, _f.N).OrderByDescending(i => Math.Abs(s[i])).Take(_f.N / 2).ToArray();
        int agree = 0;
        foreach (int i in topHalf)
        {
            var w = _f.Weights.ToArray();
            w[i] += delta;
            double measured = _f.JAfterInner(w, Steps, Lr) - j0;
            double predicted = -s[i] * delta; // dJ = (dJ/dw_i) dw_i = -s_i dw_i
            if (Math.Sign(measured) == Math.Sign(predicted)) agree++;
        }
        Assert.True(agree >= 0.9 * topHalf.Length, $"{agree} of {topHalf.Length} signs agree");
    }

    [Fact]
    public void Raising_the_top_scored_weight_lowers_J_and_raising_the_bottom_scored_raises_it()
    {
        var problem = _f.Problem();
        // Identity scores (the reference code's) at the start, against one inner step: the sign is what it predicts.
        using var dir = new IdentityEstimator().Estimate(problem);
        var s = new InfluenceScorer(ScoringMethod.BatchedExact).Score(problem, dir);
        int top = Enumerable.Range(0, _f.N).MaxBy(i => s[i]), bottom = Enumerable.Range(0, _f.N).MinBy(i => s[i]);
        Assert.True(s[top] > 0 && s[bottom] < 0, $"scores range {s[bottom]:G3} .. {s[top]:G3}");
        double j0 = _f.JAfterInner(_f.Weights, 1, 0.05);
        double Raise(int i) { var w = _f.Weights.ToArray(); w[i] += 0.5 / _f.N; return _f.JAfterInner(w, 1, 0.05); }
        Assert.True(Raise(top) < j0, "raising the top-scored example's weight must lower J");
        Assert.True(Raise(bottom) > j0, "raising the bottom-scored example's weight must raise J");
    }

    [Fact]
    public void Identity_scores_predict_the_sign_of_J_after_the_real_adamw_inner_unlearning()
    {
        // Scores from the reference code's estimator, checked against the inner optimiser BilevelOptimizer really runs
        // (AdamW through TrainingLoop), not against the map the scores were derived from.
        var problem = _f.Problem();
        using var dir = new IdentityEstimator().Estimate(problem);
        var s = new InfluenceScorer(ScoringMethod.BatchedExact).Score(problem, dir);
        const int steps = 5;
        const double lr = 1e-3;
        double j0 = _f.JAfterAdamW(_f.Weights, steps, lr);
        int top = Enumerable.Range(0, _f.N).MaxBy(i => s[i]), bottom = Enumerable.Range(0, _f.N).MinBy(i => s[i]);
        double Raise(int i) { var w = _f.Weights.ToArray(); w[i] += 1.0 / _f.N; return _f.JAfterAdamW(w, steps, lr); }
        double jTop = Raise(top), jBottom = Raise(bottom);
        Assert.True(jTop < j0 && j0 < jBottom, $"J: top raised {jTop:G6}, uniform {j0:G6}, bottom raised {jBottom:G6}");
    }

    [Fact]
    public void Mirror_descent_step_lowers_J_after_rerunning_the_inner_steps_and_the_reference_codes_sign_raises_it()
    {
        var problem = _f.Problem();
        using var dir = new UnrolledEstimator(Steps, Lr).Estimate(problem);
        var s = new InfluenceScorer(ScoringMethod.BatchedExact).Score(problem, dir);
        double j0 = _f.JAfterInner(_f.Weights, Steps, Lr);
        var ours = MirrorDescent.Step(_f.Weights, s, learningRate: 0.5 / s.Max(Math.Abs));
        var reference = MirrorDescent.Step(_f.Weights, s.Select(x => -x).ToArray(), learningRate: 0.5 / s.Max(Math.Abs)); // exp(-eta s)
        Assert.True(_f.JAfterInner(ours, Steps, Lr) < j0, "descent on J must lower J");
        Assert.True(_f.JAfterInner(reference, Steps, Lr) > j0, "the reference code's exp(-eta s) raises J");
    }
}
