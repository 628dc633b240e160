using TorchSharp;
using U2A.Core.Data;
using U2A.Core.Models;
using U2A.Core.Unlearning;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.Fixtures;

namespace U2A.Core.Tests.Unlearning;

public class NpoTests
{
    [Fact]
    public void Summed_form_on_hand_numbers()
    {
        using var scope = NewDisposeScope();
        // lp_theta = -3, lp_ref = -2, beta = 0.1: -beta (lp_theta - lp_ref) = -0.1 * (-1) = 0.1.
        // log sigmoid(0.1) = -ln(1 + e^-0.1) = -ln(1.904837418) = -0.644396660.
        // l = -(2/0.1) * (-0.644396660) = 20 * 0.644396660 = 12.8879332.
        // Second example at the reference (lp_theta = lp_ref = -5): l = 20 ln 2 = 13.8629436.
        var loss = new Npo().PerExampleLoss(Lp(new[] { -3.0, -5.0 }, new[] { 2.0, 7.0 }), Lp(new[] { -2.0, -5.0 }, new[] { 2.0, 7.0 }));
        var v = Values(loss);
        Assert.Equal(12.8879332, v[0], 6);
        Assert.Equal(13.8629436, v[1], 6);
    }

    [Fact]
    public void Token_mean_form_on_hand_numbers()
    {
        using var scope = NewDisposeScope();
        // lp_theta = -3, lp_ref = -2, |y| = 2: nll_theta = 1.5, nll_ref = 1; beta (nll_theta - nll_ref) = 0.1 * 0.5 = 0.05.
        // log sigmoid(0.05) = -ln(1 + e^-0.05) = -ln(1.951229425) = -0.668459648.
        // l = 20 * 0.668459648 = 13.3691930.
        var npo = new Npo(new NpoOptions(Form: NpoForm.TokenMeanNll));
        var loss = npo.PerExampleLoss(Lp(new[] { -3.0 }, new[] { 2.0 }), Lp(new[] { -2.0 }, new[] { 2.0 }));
        Assert.Equal(13.3691930, Values(loss)[0], 6);
    }

    [Theory]
    [InlineData(NpoForm.SummedLogProbs)]
    [InlineData(NpoForm.TokenMeanNll)]
    public void Gradient_wrt_log_probs_matches_central_differences(NpoForm form)
    {
        var npo = new Npo(new NpoOptions(Beta: 0.1, Form: form));
        FiniteDifferences.AssertGradientMatches(
            t => npo.PerExampleLoss(Lp(t, 3, 1, 5), Lp(new[] { -2.0, -1.0, -40.0 }, new[] { 3.0, 1.0, 5.0 })),
            new[] { -3.0, -0.5, -60.0 });
    }

    [Fact]
    public void Npo_is_bounded_below_and_its_slope_vanishes_while_gradient_ascent_falls_linearly()
    {
        using var scope = NewDisposeScope();
        // d = lp_theta - lp_ref with |y| = 1, beta = 0.1. NPO: l = 20 ln(1 + e^(0.1 d)), dl/dlp = 2 sigmoid(0.1 d):
        // d = 0 -> 13.8629 and 1; d = -10 -> 20 ln(1 + e^-1) = 6.2652 and 2/(1+e) = 0.5379; d = -100 -> 9.08e-4 and 9.08e-5.
        // GA: l = lp = d, slope 1 everywhere: unbounded below.
        double[] d = { 0, -10, -100, -1000 };
        var reference = Lp(new double[d.Length], Enumerable.Repeat(1.0, d.Length).ToArray());
        var lp = tensor(d, requires_grad: true);
        var npo = new Npo().PerExampleLoss(Lp(lp, 1, 1, 1, 1), reference);
        var npoSlope = Values(autograd.grad(new[] { npo.sum() }, new[] { lp })[0]);
        var npoValue = Values(npo);
        Assert.Equal(13.8629436, npoValue[0], 7);
        Assert.Equal(6.2652338, npoValue[1], 7);
        Assert.Equal(9.07978e-4, npoValue[2], 9);
        Assert.Equal(1.0, npoSlope[0], 12);
        Assert.Equal(0.5378828, npoSlope[1], 7);
        Assert.Equal(9.07957e-5, npoSlope[2], 10);
        Assert.All(npoValue, v => Assert.True(v >= 0));
        Assert.True(npoSlope[3] < 1e-40);

        var lp2 = tensor(d, requires_grad: true);
        var ga = new GradAscent().PerExampleLoss(Lp(lp2, 1, 1, 1, 1), null);
        Assert.Equal(d, Values(ga));
        Assert.Equal(new[] { 1.0, 1.0, 1.0, 1.0 }, Values(autograd.grad(new[] { ga.sum() }, new[] { lp2 })[0]));
    }

    [Fact]
    public void Npo_loss_stays_between_zero_and_its_start_while_training_on_the_tiny_model()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModel(seed: 3);
        using var reference = new ParameterSnapshotReference(model);
        using var forget = ForgetBatch.WithReference(RandomBatch(5, seed: 4), reference);
        var objective = new InnerObjective(new Npo());
        var weights = full(5, 0.2, dtype: ScalarType.Float64);
        using var optimizer = optim.SGD(model.TrainableParameters, 2.0);
        double start = 20 * Math.Log(2); // every example is at the reference at step 0
        for (int step = 0; step < 25; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = objective.Value(model, forget, weights);
            double value = loss.item<double>();
            Assert.InRange(value, 0.0, start + 1e-9);
            if (step == 0) Assert.Equal(start, value, 9);
            loss.backward();
            optimizer.step();
        }
    }

    [Fact]
    public void Under_the_same_training_the_ga_loss_falls_without_bound_while_npo_stays_non_negative()
    {
        using var scope = NewDisposeScope();
        double Train(IUnlearner unlearner)
        {
            using var model = TinyModel(seed: 3);
            using var reference = new ParameterSnapshotReference(model);
            using var forget = ForgetBatch.WithReference(RandomBatch(5, seed: 4), reference);
            var objective = new InnerObjective(unlearner);
            var weights = full(5, 0.2, dtype: ScalarType.Float64);
            using var optimizer = optim.SGD(model.TrainableParameters, 2.0);
            double value = 0;
            for (int step = 0; step < 40; step++)
            {
                using var stepScope = NewDisposeScope();
                optimizer.zero_grad();
                var loss = objective.Value(model, forget, weights);
                value = loss.item<double>();
                loss.backward();
                optimizer.step();
            }
            return value;
        }
        double ga = Train(new GradAscent()), npo = Train(new Npo());
        // GA's loss is -nll_mean: after 40 steps the forget NLL is far beyond any natural level (ln V ~ 3 for this vocabulary).
        Assert.True(ga < -10, $"GA loss after 40 steps: {ga:G4}");
        Assert.InRange(npo, 0.0, 20 * Math.Log(2));
    }

    [Fact]
    public void Missing_reference_and_bad_options_are_rejected_with_the_field_named()
    {
        using var scope = NewDisposeScope();
        var ex = Assert.Throws<ArgumentNullException>(() => new Npo().PerExampleLoss(Lp(new[] { -1.0 }, new[] { 1.0 }), null));
        Assert.Contains("reference", ex.Message);
        Assert.Contains("NpoOptions.Beta", Assert.ThrowsAny<ArgumentException>(() => new Npo(new NpoOptions(Beta: 0))).Message);
        Assert.Contains("NpoOptions.Beta", Assert.ThrowsAny<ArgumentException>(() => new Npo(new NpoOptions(Beta: double.NaN))).Message);
        Assert.Contains("NpoOptions.Form", Assert.ThrowsAny<ArgumentException>(() => new Npo(new NpoOptions(Form: (NpoForm)7))).Message);
    }
}
