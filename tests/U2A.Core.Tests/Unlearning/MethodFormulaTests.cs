using TorchSharp;
using U2A.Core.Data;
using U2A.Core.Models;
using U2A.Core.Unlearning;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.Fixtures;

namespace U2A.Core.Tests.Unlearning;

/// <summary>
/// The strategies on a real (tiny) model equal the formulas of u2a-method.md section 3, evaluated here in plain double arithmetic
/// on log-probs summed token by token (<see cref="Fixtures.LogProbsByHand"/>), not through the library's log-prob code.
/// </summary>
public class MethodFormulaTests
{
    [Fact]
    public void GradAscent_Npo_both_forms_and_SimNpo_equal_the_method_formulas()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModel(seed: 22);
        using var tokens = RandomBatch(6, seed: 23);
        var (lpRef, count) = LogProbsByHand(model, tokens);
        using var reference = new ParameterSnapshotReference(model);
        using var forget = ForgetBatch.WithReference(tokens, reference);
        Perturb(model, 0.1, seed: 24);
        var (lp, _) = LogProbsByHand(model, tokens);

        double LogSigmoid(double z) => Math.Log(Sigmoid(z));
        double beta = 0.1;
        // GA: l_i = -nll_mean = -(-lp/|y|).
        var ga = lp.Select((s, i) => -(-s / count[i])).ToArray();
        // NPO: l_i = -(2/beta) log sigmoid(-beta (lp_theta - lp_ref)).
        var npo = lp.Select((s, i) => -(2 / beta) * LogSigmoid(-beta * (s - lpRef[i]))).ToArray();
        // NPO, reference code: l_i = -(2/beta) log sigmoid(beta (nll_theta - nll_ref)).
        var npoMean = lp.Select((s, i) => -(2 / beta) * LogSigmoid(beta * (-s / count[i] - (-lpRef[i] / count[i])))).ToArray();
        // SimNPO: l_i = -(2/4.5) log sigmoid(4.5 (nll_mean - 0)).
        var simNpo = lp.Select((s, i) => -(2 / 4.5) * LogSigmoid(4.5 * (-s / count[i]))).ToArray();

        AssertClose(ga, new InnerObjective(new GradAscent()).PerExampleLosses(model, forget));
        AssertClose(npo, new InnerObjective(new Npo()).PerExampleLosses(model, forget));
        AssertClose(npoMean, new InnerObjective(new Npo(new NpoOptions(Form: NpoForm.TokenMeanNll))).PerExampleLosses(model, forget));
        AssertClose(simNpo, new InnerObjective(new SimNpo()).PerExampleLosses(model, forget));
    }

    private static void AssertClose(double[] expected, Tensor actual)
    {
        var a = Values(actual);
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(expected[i] - a[i]) <= 1e-10 * Math.Max(1, Math.Abs(expected[i])), $"row {i}: formula {expected[i]:R}, strategy {a[i]:R}");
    }
}
