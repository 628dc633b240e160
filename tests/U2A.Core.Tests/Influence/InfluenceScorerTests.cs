using TorchSharp;
using U2A.Core.Influence;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.RidgeRegressionProblem;

namespace U2A.Core.Tests.Influence;

/// <summary>InfluenceScorer: the three scoring methods agree, and scores predict the change of J (ridge regression and a float64 tiny LM).</summary>
public sealed class InfluenceScorerTests : IDisposable
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
    public void Exact_scores_equal_finite_differences_of_the_closed_form_solution()
    {
        var exact = R.ExactScores();
        const double h = 1e-6;
        var fd = new double[N];
        using (no_grad())
        {
            for (int i = 0; i < N; i++)
            {
                var e = zeros(N, dtype: float64); e[i] = tensor(h, dtype: float64);
                double jp = R.Objective(R.Solve(R.W + e)).item<double>();
                double jm = R.Objective(R.Solve(R.W - e)).item<double>();
                fd[i] = -(jp - jm) / (2 * h); // s_i = -dJ/dw_i
            }
        }
        AssertClose(fd, exact, 1e-7, "closed-form finite differences");
        Assert.Contains(exact, s => s > 0);
        Assert.Contains(exact, s => s < 0);
    }

    [Fact]
    public void The_three_scoring_methods_agree_and_leave_the_parameters_unchanged()
    {
        using var dir = new ConjugateGradientEstimator(tolerance: 1e-12).Estimate(R.Problem);
        var before = R.Theta.detach().clone().data<double>().ToArray();
        var loop = new InfluenceScorer(ScoringMethod.PerExampleLoop).Score(R.Problem, dir);
        Assert.Equal(before, R.Theta.detach().data<double>().ToArray());
        var batched = new InfluenceScorer(ScoringMethod.BatchedExact, chunkSize: 3).Score(R.Problem, dir);
        Assert.Equal(before, R.Theta.detach().data<double>().ToArray());
        // Finite differences move theta to theta +- eps v and must put it back bit for bit.
        var fd = new InfluenceScorer(ScoringMethod.FiniteDifference, chunkSize: 5, finiteDifferenceStep: 1e-4).Score(R.Problem, dir);
        Assert.Equal(before, R.Theta.detach().data<double>().ToArray());
        AssertClose(R.ExactScores(), loop, 1e-9, "loop vs exact");
        AssertClose(loop, batched, 1e-12, "batched vs loop");
        AssertClose(loop, fd, 1e-7, "finite differences vs loop");
    }

    [Fact]
    public void Batched_exact_scores_equal_the_per_example_loop_and_finite_differences_rank_them_alike()
    {
        var problem = F.Problem();
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
    public void Predicted_change_of_J_agrees_in_sign_with_rerunning_the_inner_steps_for_the_top_half()
    {
        var problem = F.Problem();
        using var dir = new UnrolledEstimator(Steps, Lr).Estimate(problem);
        var s = new InfluenceScorer(ScoringMethod.BatchedExact).Score(problem, dir);
        double j0 = F.JAfterInner(F.Weights, Steps, Lr);
        double delta = 0.1 / F.N;
        var topHalf = Enumerable.Range(0, F.N).OrderByDescending(i => Math.Abs(s[i])).Take(F.N / 2).ToArray();
        int agree = 0;
        foreach (int i in topHalf)
        {
            var w = F.Weights.ToArray();
            w[i] += delta;
            double measured = F.JAfterInner(w, Steps, Lr) - j0;
            double predicted = -s[i] * delta; // dJ = (dJ/dw_i) dw_i = -s_i dw_i
            if (Math.Sign(measured) == Math.Sign(predicted)) agree++;
        }
        Assert.True(agree >= 0.9 * topHalf.Length, $"{agree} of {topHalf.Length} signs agree");
    }

    [Fact]
    public void Raising_the_top_scored_weight_lowers_J_and_raising_the_bottom_scored_raises_it()
    {
        var problem = F.Problem();
        // Identity scores (the reference code's) at the start, against one inner step: the sign is what it predicts.
        using var dir = new IdentityEstimator().Estimate(problem);
        var s = new InfluenceScorer(ScoringMethod.BatchedExact).Score(problem, dir);
        int top = Enumerable.Range(0, F.N).MaxBy(i => s[i]), bottom = Enumerable.Range(0, F.N).MinBy(i => s[i]);
        Assert.True(s[top] > 0 && s[bottom] < 0, $"scores range {s[bottom]:G3} .. {s[top]:G3}");
        double j0 = F.JAfterInner(F.Weights, 1, 0.05);
        double Raise(int i) { var w = F.Weights.ToArray(); w[i] += 0.5 / F.N; return F.JAfterInner(w, 1, 0.05); }
        Assert.True(Raise(top) < j0, "raising the top-scored example's weight must lower J");
        Assert.True(Raise(bottom) > j0, "raising the bottom-scored example's weight must raise J");
    }
}
