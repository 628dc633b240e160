using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Core.Unlearning;

/// <summary>
/// Gradient ascent (GA): <c>l_i = -nll_mean(y_i | x_i) = lp_theta(y_i | x_i) / |y_i|</c>.
/// Minimising <c>sum_i w_i l_i</c> raises the token-mean negative log-likelihood of each negative response.
/// </summary>
/// <remarks>
/// The loss is unbounded below: its gradient with respect to <c>lp</c> is <c>1/|y|</c> however unlikely the response
/// already is, which is why GA collapses a model quickly unless the learning rate is small or training stops early.
/// </remarks>
public sealed class GradAscent : IUnlearner
{
    /// <inheritdoc />
    public string Name => "GradAscent";

    /// <inheritdoc />
    public bool NeedsReference => false;


    /// <inheritdoc />
    public Tensor PerExampleLoss(SequenceLogProbs policy, SequenceLogProbs? reference)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return policy.Mean;
    }
}
