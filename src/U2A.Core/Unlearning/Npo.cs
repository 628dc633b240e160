using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Core.Unlearning;

/// <summary>
/// Negative preference optimisation (NPO, Zhang et al. 2024):
/// <c>l_i = -(2/beta) log sigmoid(-beta (lp_theta(y_i|x_i) - lp_ref(y_i|x_i)))</c> on summed response log-probs (default), or
/// <c>l_i = -(2/beta) log sigmoid(beta (nll_mean_theta(y_i|x_i) - nll_mean_ref(y_i|x_i)))</c> with <see cref="NpoForm.TokenMeanNll"/>.
/// </summary>
/// <remarks>
/// With <c>d = lp_theta - lp_ref</c>, <c>l = (2/beta) log(1 + exp(beta d))</c>: it equals <c>(2/beta) log 2</c> at the reference,
/// is always positive, and its slope <c>dl/dd = 2 sigmoid(beta d)</c> vanishes as the response becomes unlikely, unlike GA's constant
/// slope; so NPO slows down by itself instead of collapsing the model. The summed form is the default because it is the NPO paper's
/// loss (and open-unlearning's), whose bounds and adaptive-weight argument are stated for sequence log-probs; the token-mean form
/// (the summed form at temperature <c>beta / |y|</c>, divided by <c>|y|</c>, so long responses weigh less per example) is there to
/// reproduce the U2A reference code.
/// </remarks>
public sealed class Npo : IUnlearner
{
    /// <summary>NPO with <paramref name="options"/> (defaults when null).</summary>
    public Npo(NpoOptions? options = null)
    {
        Options = options ?? new NpoOptions();
        Options.Validate();
    }

    /// <summary>The options.</summary>
    public NpoOptions Options { get; }

    /// <inheritdoc />
    public string Name => "NPO";

    /// <inheritdoc />
    public bool NeedsReference => true;


    /// <inheritdoc />
    public Tensor PerExampleLoss(SequenceLogProbs policy, SequenceLogProbs? reference)
    {
        ArgumentNullException.ThrowIfNull(policy);
        using var scope = NewDisposeScope();
        var refLp = StrategyInputs.Reference(reference, policy, Name);
        double beta = Options.Beta;
        var z = Options.Form == NpoForm.SummedLogProbs
            ? (policy.Sum - refLp.Sum) * (-beta)
            : (policy.MeanNll - refLp.MeanNll) * beta;
        return (nn.functional.logsigmoid(z) * (-2.0 / beta)).MoveToOuterDisposeScope();
    }
}
