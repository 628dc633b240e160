using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Core.Alignment;

/// <summary>
/// The preference-alignment objective <c>J(theta)</c> that U2A's hypergradient differentiates: a scalar with an autograd
/// graph at the model's current parameters, lower is better (the DPO loss on held-out preference pairs, say).
/// </summary>
/// <remarks>
/// <c>J</c> is all a scorer supplies. The number a run reports and stops on, the PA (preference-alignment) score, comes
/// from an <see cref="IAlignmentEvaluator"/>, which need not be differentiable. Objectives in this library that have a
/// natural score (<see cref="DpoObjective"/>: <c>-J</c>) implement both interfaces.
/// </remarks>
public interface IAlignmentScorer
{
    /// <summary>Short name for logs and reports.</summary>
    string Name { get; }

    /// <summary><c>J</c> at the model's current parameters: a scalar with autograd graph, computed anew on every call. Lower is better.</summary>
    Tensor Objective(ICausalLM model);
}
