using U2A.Core.Unlearning;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.Fixtures;

namespace U2A.Core.Tests.Unlearning;

public class SimNpoTests
{
    [Fact]
    public void Loss_on_hand_numbers()
    {
        using var scope = NewDisposeScope();
        // lp = -0.3, |y| = 3: nll_mean = 0.1. beta = 4.5, delta = 0: beta * 0.1 = 0.45.
        // log sigmoid(0.45) = -ln(1 + e^-0.45) = -ln(1.637628152) = -0.493248946; l = (2/4.5) * 0.493248946 = 0.219221754.
        var loss = new SimNpo().PerExampleLoss(Lp(new[] { -0.3 }, new[] { 3.0 }), null);
        Assert.Equal(0.219221754, Values(loss)[0], 8);

        // delta = 0.5: beta (0.1 - 0.5) = -1.8; log sigmoid(-1.8) = -ln(1 + e^1.8) = -ln(7.049647464) = -1.952977611;
        // l = (2/4.5) * 1.952977611 = 0.867990049.
        var shifted = new SimNpo(new SimNpoOptions(Delta: 0.5)).PerExampleLoss(Lp(new[] { -0.3 }, new[] { 3.0 }), null);
        Assert.Equal(0.867990049, Values(shifted)[0], 8);
    }

    [Fact]
    public void Gradient_wrt_log_probs_matches_central_differences()
    {
        var simNpo = new SimNpo(new SimNpoOptions(Beta: 4.5, Delta: 0.3));
        FiniteDifferences.AssertGradientMatches(t => simNpo.PerExampleLoss(Lp(t, 3, 1, 6), null), new[] { -0.3, -2.0, -9.0 });
    }

    [Fact]
    public void Needs_no_reference_and_rejects_bad_options_with_the_field_named()
    {
        Assert.False(new SimNpo().NeedsReference);
        Assert.Contains("SimNpoOptions.Beta", Assert.ThrowsAny<ArgumentException>(() => new SimNpo(new SimNpoOptions(Beta: -1))).Message);
        Assert.Contains("SimNpoOptions.Delta", Assert.ThrowsAny<ArgumentException>(() => new SimNpo(new SimNpoOptions(Delta: double.PositiveInfinity))).Message);
    }
}
