namespace U2A.Core.Training;

/// <summary>What one completed optimizer step reports (to <see cref="IProgress{T}"/>, logs and the run history).</summary>
/// <param name="Step">0-based index of the step (the value the loss function received).</param>
/// <param name="LearningRate">The learning rate the update used.</param>
/// <param name="Loss">The backpropagated loss: the mean of the micro-batch losses.</param>
/// <param name="GradNorm">Global L2 norm of the accumulated gradient before clipping.</param>
/// <param name="Metrics">Extra metrics from the loss function, averaged over micro-batches (empty when none).</param>
public sealed record TrainingStepMetrics(int Step, double LearningRate, double Loss, double GradNorm, IReadOnlyDictionary<string, double> Metrics);
