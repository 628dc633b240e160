using U2A.Core.Selection;

namespace U2A.Core.Tests.Selection;

public class SelectorTests
{
    private static readonly double[] Scores = { 0.5, -1.0, 2.0, 0.5, 0.1 };

    [Fact]
    public void Top_k_takes_the_highest_scores_with_uniform_weights_and_breaks_ties_by_index()
    {
        var s = new TopKSelector(3).Select(new SelectionRequest(Scores));
        Assert.Equal(new[] { 2, 0, 3 }, s.Indices);
        Assert.All(s.Weights, w => Assert.Equal(1.0 / 3, w, 15));
    }

    [Fact]
    public void Positive_only_takes_every_positive_score()
    {
        var s = new PositiveScoreSelector().Select(new SelectionRequest(Scores));
        Assert.Equal(new[] { 2, 0, 3, 4 }, s.Indices);
        Assert.Equal(new[] { 2 }, new PositiveScoreSelector(1).Select(new SelectionRequest(Scores)).Indices);
        Assert.Equal(new[] { 1 }, new PositiveScoreSelector().Select(new SelectionRequest(new[] { -3.0, -1.0 })).Indices);
    }

    [Fact]
    public void Random_k_is_deterministic_for_a_seed_and_differs_across_seeds()
    {
        var pool = new SelectionRequest(Enumerable.Range(0, 50).Select(i => (double)i).ToArray());
        var a = new RandomKSelector(10, seed: 4).Select(pool).Indices;
        Assert.Equal(a, new RandomKSelector(10, seed: 4).Select(pool).Indices);
        Assert.NotEqual(a, new RandomKSelector(10, seed: 5).Select(pool).Indices);
        Assert.Equal(10, a.Distinct().Count());
    }

    [Fact]
    public void All_uniform_selects_the_whole_pool()
    {
        var s = new AllUniformSelector().Select(new SelectionRequest(Scores));
        Assert.Equal(Enumerable.Range(0, 5), s.Indices);
        Assert.Equal(1.0, s.Weights.Sum(), 12);
    }

    [Fact]
    public void Matching_pursuit_skips_an_example_redundant_with_one_already_chosen()
    {
        // Gradients: g0 = (1,0), g1 = (1,0) (a duplicate of g0), g2 = (0,1). v = (1, 0.8): s = (1, 1, 0.8).
        // Top-2 would take 0 and 1 (duplicates); matching pursuit takes 0, then the residual (0, 0.8) favours 2.
        double[][] g = { new[] { 1.0, 0.0 }, new[] { 1.0, 0.0 }, new[] { 0.0, 1.0 } };
        double Dot(double[] a, double[] b) => a[0] * b[0] + a[1] * b[1];
        var request = new SelectionRequest(new[] { 1.0, 1.0, 0.8 }, j => g.Select(gi => Dot(gi, g[j])).ToArray());
        Assert.Equal(new[] { 0, 1 }, new TopKSelector(2).Select(request).Indices);
        var s = new MatchingPursuitSelector(2).Select(request);
        Assert.Equal(new[] { 0, 2 }, s.Indices);
        // Coefficients c0 = 1, c2 = 0.8, normalised: 1/1.8 and 0.8/1.8.
        Assert.Equal(1 / 1.8, s.Weights[0], 12);
        Assert.Equal(0.8 / 1.8, s.Weights[1], 12);
    }

    [Fact]
    public void Bad_requests_name_the_problem()
    {
        Assert.Contains("larger than the pool", Assert.Throws<ArgumentException>(() => new TopKSelector(9).Select(new SelectionRequest(Scores))).Message);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => new AllUniformSelector().Select(new SelectionRequest(Array.Empty<double>()))).Message);
        Assert.Contains("not finite", Assert.Throws<ArgumentException>(() => new TopKSelector(1).Select(new SelectionRequest(new[] { double.NaN }))).Message);
        Assert.Contains("Interaction", Assert.Throws<ArgumentException>(() => new MatchingPursuitSelector(1).Select(new SelectionRequest(Scores))).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TopKSelector(0));
    }
}

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
}
