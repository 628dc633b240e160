using TorchSharp;
using U2A.Core.Data;
using U2A.Core.Unlearning;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.Fixtures;

namespace U2A.Core.Tests.Unlearning;

public class GradAscentTests
{
    [Fact]
    public void Loss_is_the_token_mean_log_prob_on_hand_numbers()
    {
        using var scope = NewDisposeScope();
        // l = -nll_mean = lp/|y|: -6/3 = -2, -1.5/1 = -1.5, -1/4 = -0.25.
        var loss = new GradAscent().PerExampleLoss(Lp(new[] { -6.0, -1.5, -1.0 }, new[] { 3.0, 1.0, 4.0 }), null);
        Assert.Equal(new[] { -2.0, -1.5, -0.25 }, Values(loss));
    }

    [Fact]
    public void Gradient_wrt_log_probs_matches_central_differences()
    {
        FiniteDifferences.AssertGradientMatches(
            t => new GradAscent().PerExampleLoss(Lp(t, 3, 1, 4), null), new[] { -6.0, -1.5, -1.0 });
    }

    [Fact]
    public void Raises_the_forget_set_nll_at_each_of_its_first_steps()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModel(seed: 1);
        using var forget = new ForgetBatch(RandomBatch(6, seed: 2));
        var objective = new InnerObjective(new GradAscent());
        var weights = full(6, 1.0 / 6, dtype: ScalarType.Float64);
        using var optimizer = optim.SGD(model.TrainableParameters, 0.1);

        double MeanNll()
        {
            using var noGrad = no_grad();
            using var s = NewDisposeScope();
            return objective.PerExampleLosses(model, forget).mean().neg().item<double>();
        }

        var nll = new List<double> { MeanNll() };
        for (int step = 0; step < 6; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            objective.Value(model, forget, weights).backward();
            optimizer.step();
            nll.Add(MeanNll());
        }
        for (int k = 1; k < nll.Count; k++)
            Assert.True(nll[k] > nll[k - 1], $"forget NLL did not rise at step {k}: {string.Join(", ", nll)}");
    }
}
