using U2A.Core.Influence;
using U2A.Core.Selection;

namespace U2A.Core.Tests.Selection;

public class MirrorDescentTests
{
    [Fact]
    public void Step_multiplies_by_exp_of_eta_times_score_and_renormalises()
    {
        // w = (0.5, 0.5), s = (1, -1), eta = 0.5: unnormalised 0.5 e^0.5, 0.5 e^-0.5 -> e / (e + 1), 1 / (e + 1).
        var w = MirrorDescent.Step(new[] { 0.5, 0.5 }, new[] { 1.0, -1.0 }, 0.5);
        Assert.Equal(Math.E / (Math.E + 1), w[0], 14);
        Assert.Equal(1 / (Math.E + 1), w[1], 14);
    }

    [Fact]
    public void Step_raises_the_weight_of_positive_scores_so_predicted_J_falls()
    {
        var weights = new[] { 0.25, 0.25, 0.25, 0.25 };
        var scores = new[] { 0.3, -0.2, 0.1, 0.0 };
        var next = MirrorDescent.Step(weights, scores, 0.1);
        // First-order change of J: dJ = sum_i (dJ/dw_i) dw_i = -sum_i s_i dw_i, which must be negative.
        double dJ = -Enumerable.Range(0, 4).Sum(i => scores[i] * (next[i] - weights[i]));
        Assert.True(dJ < 0, $"predicted dJ = {dJ}");
        Assert.True(next[0] > weights[0] && next[1] < weights[1]);
        Assert.Equal(1.0, next.Sum(), 14);
    }

    [Fact]
    public void Sparsity_penalty_shrinks_small_weights_more_than_large_ones()
    {
        // Equal scores: only the penalty acts; it pushes mass towards the larger weight.
        var next = MirrorDescent.Step(new[] { 0.8, 0.2 }, new[] { 0.0, 0.0 }, 0.1, sparsityPenalty: 1.0);
        Assert.True(next[0] > 0.8);
        Assert.Contains("learningRate", Assert.Throws<ArgumentOutOfRangeException>(() => MirrorDescent.Step(new[] { 1.0 }, new[] { 0.0 }, 0)).Message);
    }

    [Fact]
    public void Mirror_descent_step_lowers_J_after_rerunning_the_inner_steps_and_the_reference_codes_sign_raises_it()
    {
        using var f = new TinyLmFixture();
        const int Steps = 3;
        const double Lr = 0.5;
        var problem = f.Problem();
        using var dir = new UnrolledEstimator(Steps, Lr).Estimate(problem);
        var s = new InfluenceScorer(ScoringMethod.BatchedExact).Score(problem, dir);
        double j0 = f.JAfterInner(f.Weights, Steps, Lr);
        var ours = MirrorDescent.Step(f.Weights, s, learningRate: 0.5 / s.Max(Math.Abs));
        var reference = MirrorDescent.Step(f.Weights, s.Select(x => -x).ToArray(), learningRate: 0.5 / s.Max(Math.Abs)); // exp(-eta s)
        Assert.True(f.JAfterInner(ours, Steps, Lr) < j0, "descent on J must lower J");
        Assert.True(f.JAfterInner(reference, Steps, Lr) > j0, "the reference code's exp(-eta s) raises J");
    }
}
