using static TorchSharp.torch;

namespace U2A.Core.Training;

/// <summary>
/// What a loss function returns for one micro-batch: the scalar loss to backpropagate and optional extra metrics
/// (plain numbers, averaged over the micro-batches of a step). A <see cref="Tensor"/> converts implicitly.
/// </summary>
/// <param name="Loss">A scalar (one-element) tensor with an autograd graph to the trained parameters.</param>
/// <param name="Metrics">Extra metrics for this micro-batch, or null.</param>
/// <param name="MetricTensors">Extra metrics as scalar tensors on the model's device, or null: the loop copies them to the
/// host together with the loss, in one transfer, instead of one synchronisation per metric.</param>
public readonly record struct StepLoss(Tensor Loss, IReadOnlyDictionary<string, double>? Metrics = null, IReadOnlyDictionary<string, Tensor>? MetricTensors = null)
{
    /// <summary>A loss without extra metrics.</summary>
    public static implicit operator StepLoss(Tensor loss) => new(loss);
}
