using TorchSharp;
using U2A.Testing;
using U2A.Core.Alignment;
using U2A.Core.Data;
using U2A.Core.Models;
using U2A.Core.Tests.Unlearning;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.Fixtures;

namespace U2A.Core.Tests.Alignment;

public class DpoObjectiveTests
{
    [Fact]
    public void Dpo_sigmoid_loss_on_hand_numbers()
    {
        using var scope = NewDisposeScope();
        // Chosen: lp_theta = -4, lp_ref = -5; rejected: lp_theta = -6, lp_ref = -5.5. h = (-4 + 5) - (-6 + 5.5) = 1 + 0.5 = 1.5.
        // beta = 0.3: beta h = 0.45; -log sigmoid(0.45) = ln(1 + e^-0.45) = ln(1.637628152) = 0.493248946.
        var one = new[] { 1.0 };
        var loss = DpoLoss.PerPair(Lp(new[] { -4.0 }, one), Lp(new[] { -6.0 }, one), Lp(new[] { -5.0 }, one), Lp(new[] { -5.5 }, one), beta: 0.3);
        Assert.Equal(0.493248946, Values(loss)[0], 9);
    }

    [Fact]
    public void Dpo_loss_gradient_wrt_log_probs_matches_central_differences()
    {
        var counts = new[] { 1.0, 1.0 };
        FiniteDifferences.AssertGradientMatches(
            t => DpoLoss.PerPair(Lp(t[..2], counts), Lp(t[2..], counts), Lp(new[] { -5.0, -2.0 }, counts), Lp(new[] { -5.5, -1.0 }, counts), beta: 0.3),
            new[] { -4.0, -3.0, -6.0, -0.5 });
    }

    [Theory]
    [InlineData(DpoLossType.Ipo)]
    [InlineData(DpoLossType.Hinge)] // margins 1.5 and -1.5: beta h = 0.45 and -0.45, away from the hinge's kink at beta h = 1
    public void Ipo_and_hinge_gradients_wrt_log_probs_match_central_differences(DpoLossType type)
    {
        var counts = new[] { 1.0, 1.0 };
        FiniteDifferences.AssertGradientMatches(
            t => DpoLoss.PerPair(Lp(t[..2], counts), Lp(t[2..], counts), Lp(new[] { -5.0, -2.0 }, counts), Lp(new[] { -5.5, -1.0 }, counts), beta: 0.3, type),
            new[] { -4.0, -3.0, -6.0, -0.5 });
    }

    private sealed class Setup : IDisposable
    {
        public readonly TinyTransformerLM Model = TinyModel(seed: 30);
        public readonly PreferenceBatch Pairs;
        public readonly double[] ReferenceChosen, ReferenceRejected;

        public Setup(double perturbation)
        {
            var chosen = RandomBatch(7, seed: 31);
            var rejected = RandomBatch(7, seed: 32);
            ReferenceChosen = LogProbsByHand(Model, chosen).Sum;
            ReferenceRejected = LogProbsByHand(Model, rejected).Sum;
            using var reference = new ParameterSnapshotReference(Model);
            Pairs = PreferenceBatch.WithReference(chosen, rejected, reference, chunkSize: 3);
            Perturb(Model, perturbation, seed: 33);
        }

        /// <summary>h_n = (lp_theta(y_w) - lp_ref(y_w)) - (lp_theta(y_l) - lp_ref(y_l)) in plain doubles.</summary>
        public double[] MarginsByHand()
        {
            var c = LogProbsByHand(Model, Pairs.Chosen).Sum;
            var r = LogProbsByHand(Model, Pairs.Rejected).Sum;
            return c.Select((_, n) => (c[n] - ReferenceChosen[n]) - (r[n] - ReferenceRejected[n])).ToArray();
        }

        public void Dispose()
        {
            Pairs.Dispose();
            Model.Dispose();
        }
    }

    [Fact]
    public void Objective_equals_the_method_formula_and_score_is_minus_J()
    {
        using var scope = NewDisposeScope();
        using var s = new Setup(perturbation: 0.1);
        // J = mean_n -log sigmoid(beta h_n), beta = 0.3 (u2a-method.md section 4).
        var h = s.MarginsByHand();
        double expected = h.Select(x => -Math.Log(Sigmoid(0.3 * x))).Average();
        var objective = new DpoObjective(s.Pairs);
        double j = objective.Objective(s.Model).item<double>();
        Assert.Equal(expected, j, 10);
        Assert.Equal(-j, objective.Evaluate(s.Model), 12);
        Assert.Equal(h.Count(x => x > 0) / (double)h.Length, objective.Accuracy(s.Model));
    }

    [Fact]
    public void Objective_is_log_two_at_the_reference()
    {
        using var scope = NewDisposeScope();
        using var s = new Setup(perturbation: 0.0);
        Assert.Equal(Math.Log(2), new DpoObjective(s.Pairs).Objective(s.Model).item<double>(), 12);
    }

    [Fact]
    public void Chunked_objective_and_its_gradient_equal_the_whole_set_ones()
    {
        using var scope = NewDisposeScope();
        using var s = new Setup(perturbation: 0.1);
        var whole = new DpoObjective(s.Pairs);
        var chunked = new DpoObjective(s.Pairs, new DpoObjectiveOptions(ChunkSize: 2));
        AlignmentAssert.SameValueAndGradient(s.Model, whole.Objective, chunked.Objective);
        Assert.Equal(whole.Accuracy(s.Model), chunked.Accuracy(s.Model));
    }

    [Fact]
    public void Missing_reference_and_bad_options_are_rejected_with_the_field_named()
    {
        using var scope = NewDisposeScope();
        using var plain = new PreferenceBatch(RandomBatch(2, seed: 34), RandomBatch(2, seed: 35));
        Assert.Contains("WithReference", Assert.Throws<ArgumentException>(() => new DpoObjective(plain)).Message);
        using var s = new Setup(perturbation: 0.0);
        Assert.Contains("DpoObjectiveOptions.Beta", Assert.ThrowsAny<ArgumentException>(() => new DpoObjective(s.Pairs, new DpoObjectiveOptions(Beta: 0))).Message);
        Assert.Contains("DpoObjectiveOptions.ChunkSize", Assert.ThrowsAny<ArgumentException>(() => new DpoObjective(s.Pairs, new DpoObjectiveOptions(ChunkSize: 0))).Message);
    }
}
