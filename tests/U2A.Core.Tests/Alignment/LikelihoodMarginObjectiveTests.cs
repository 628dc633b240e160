using U2A.Core.Alignment;
using U2A.Core.Data;
using U2A.Core.Tests.Unlearning;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.Fixtures;

namespace U2A.Core.Tests.Alignment;

public class LikelihoodMarginObjectiveTests
{
    [Fact]
    public void Margin_on_hand_numbers()
    {
        using var scope = NewDisposeScope();
        // lp(chosen) - lp(rejected): -4 - (-6) = 2; -1 - (-0.5) = -0.5. J = -(2 - 0.5)/2 = -0.75.
        var counts = new[] { 1.0, 1.0 };
        var margin = LikelihoodMarginObjective.Margin(Lp(new[] { -4.0, -1.0 }, counts), Lp(new[] { -6.0, -0.5 }, counts));
        Assert.Equal(new[] { 2.0, -0.5 }, Values(margin));
        Assert.Equal(-0.75, -Values(margin).Average());
    }

    [Fact]
    public void Margin_gradient_wrt_log_probs_matches_central_differences()
    {
        var counts = new[] { 1.0, 1.0 };
        FiniteDifferences.AssertGradientMatches(
            t => LikelihoodMarginObjective.Margin(Lp(t[..2], counts), Lp(t[2..], counts)), new[] { -4.0, -1.0, -6.0, -0.5 });
    }

    [Fact]
    public void Objective_is_minus_the_mean_margin_and_the_score_is_the_mean_margin_chunked_or_not()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModel(seed: 40);
        using var pairs = new PreferenceBatch(RandomBatch(5, seed: 41), RandomBatch(5, seed: 42));
        var c = LogProbsByHand(model, pairs.Chosen).Sum;
        var r = LogProbsByHand(model, pairs.Rejected).Sum;
        double meanMargin = c.Zip(r, (x, y) => x - y).Average();
        var objective = new LikelihoodMarginObjective(pairs);
        Assert.Equal(-meanMargin, objective.Objective(model).item<double>(), 10);
        Assert.Equal(meanMargin, objective.Evaluate(model), 10);
        var chunked = new LikelihoodMarginObjective(pairs, new LikelihoodMarginOptions(ChunkSize: 2));
        AlignmentAssert.SameValueAndGradient(model, objective.Objective, chunked.Objective);
    }

    [Fact]
    public void Bad_chunk_size_is_rejected_with_the_field_named()
    {
        using var scope = NewDisposeScope();
        using var pairs = new PreferenceBatch(RandomBatch(2, seed: 43), RandomBatch(2, seed: 44));
        Assert.Contains("LikelihoodMarginOptions.ChunkSize",
            Assert.ThrowsAny<ArgumentException>(() => new LikelihoodMarginObjective(pairs, new LikelihoodMarginOptions(ChunkSize: 0))).Message);
    }
}
