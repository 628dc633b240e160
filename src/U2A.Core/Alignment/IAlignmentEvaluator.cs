using U2A.Core.Models;

namespace U2A.Core.Alignment;

/// <summary>
/// The reported PA (preference-alignment) score of a model: a number, higher is better, that need not be differentiable
/// (a win rate, a reward model's mean score of generated responses, <c>-J</c>). <see cref="Optimization.BilevelOptimizer"/>
/// logs it after every outer iteration, stops when it stops improving and keeps the parameters that scored best.
/// </summary>
public interface IAlignmentEvaluator
{
    /// <summary>Short name for logs and reports.</summary>
    string Name { get; }

    /// <summary>The PA score at the model's current parameters (higher is better). Runs without gradients: <see cref="Optimization.BilevelOptimizer"/>
    /// calls it with gradient recording off (so the models use the fused attention kernel) and, for a <see cref="Models.Lora.LoraModel"/>,
    /// with the adapters merged (<see cref="Models.Lora.LoraModel.ForwardOnly"/>).</summary>
    double Evaluate(ICausalLM model, CancellationToken cancellationToken = default);
}
