namespace U2A.Core.Training;

/// <summary>
/// Computes the loss of micro-batch <paramref name="microBatch"/> (0 .. N-1) of 0-based optimizer step
/// <paramref name="step"/>. The loop runs it inside a dispose scope, so tensors it creates are freed after the
/// backward pass. It must depend only on its arguments (and the parameters) for runs to be repeatable and resumable.
/// </summary>
public delegate StepLoss StepLossFunction(int step, int microBatch);
