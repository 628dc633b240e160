using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Core.Unlearning;

/// <summary>
/// SimNPO (Fan et al. 2024), NPO without a reference model:
/// <c>l_i = -(2/beta) log sigmoid(beta (nll_mean(y_i|x_i) - delta))</c>.
/// </summary>
/// <remarks>Positive, and its slope in <c>nll_mean</c>, <c>-2 sigmoid(-beta (nll_mean - delta))</c>, vanishes once the NLL is well past <c>delta</c>.</remarks>
public sealed class SimNpo : IUnlearner
{
    /// <summary>SimNPO with <paramref name="options"/> (defaults when null).</summary>
    public SimNpo(SimNpoOptions? options = null)
    {
        Options = options ?? new SimNpoOptions();
        Options.Validate();
    }

    /// <summary>The options.</summary>
    public SimNpoOptions Options { get; }

    /// <inheritdoc />
    public string Name => "SimNPO";

    /// <inheritdoc />
    public bool NeedsReference => false;


    /// <inheritdoc />
    public Tensor PerExampleLoss(SequenceLogProbs policy, SequenceLogProbs? reference)
    {
        ArgumentNullException.ThrowIfNull(policy);
        using var scope = NewDisposeScope();
        double beta = Options.Beta;
        var z = (policy.MeanNll - Options.Delta) * beta;
        return (nn.functional.logsigmoid(z) * (-2.0 / beta)).MoveToOuterDisposeScope();
    }
}
