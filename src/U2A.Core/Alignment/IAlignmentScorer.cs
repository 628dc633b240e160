using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Core.Alignment;

/// <summary>
/// A preference-alignment (PA) objective: a differentiable <c>J(theta)</c> (lower is better) that influence scores
/// are computed against, and a reported PA score (higher is better) that need not be differentiable.
/// </summary>
public interface IAlignmentScorer
{
    /// <summary>Short name for logs and reports.</summary>
    string Name { get; }

    /// <summary><c>J</c> at the model's current parameters: a scalar with autograd graph. Lower is better.</summary>
    Tensor Objective(ICausalLM model);

    /// <summary>The reported PA score (higher is better). Runs without gradients.</summary>
    double Score(ICausalLM model, CancellationToken cancellationToken = default);
}
