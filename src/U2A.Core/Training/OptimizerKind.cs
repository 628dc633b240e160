namespace U2A.Core.Training;

/// <summary>The optimisation algorithms a <see cref="TrainingLoop"/> can use.</summary>
public enum OptimizerKind
{
    /// <summary>AdamW (decoupled weight decay), TorchSharp's <c>torch.optim.AdamW</c>.</summary>
    AdamW,
    /// <summary>Stochastic gradient descent with optional momentum, TorchSharp's <c>torch.optim.SGD</c>.</summary>
    Sgd,
}
