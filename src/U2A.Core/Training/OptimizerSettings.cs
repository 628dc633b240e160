using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace U2A.Core.Training;

/// <summary>The optimisation algorithms a <see cref="TrainingLoop"/> can use.</summary>
public enum OptimizerKind
{
    /// <summary>AdamW (decoupled weight decay), TorchSharp's <c>torch.optim.AdamW</c>.</summary>
    AdamW,
    /// <summary>Stochastic gradient descent with optional momentum, TorchSharp's <c>torch.optim.SGD</c>.</summary>
    Sgd,
}

/// <summary>
/// Optimizer hyper-parameters. Defaults follow Hugging Face <c>TrainingArguments</c>: AdamW, learning rate 5e-5,
/// betas (0.9, 0.999), epsilon 1e-8, no weight decay.
/// </summary>
public sealed record OptimizerSettings
{
    /// <summary>The algorithm.</summary>
    public OptimizerKind Kind { get; init; } = OptimizerKind.AdamW;

    /// <summary>The base (peak) learning rate; the schedule scales it.</summary>
    public double LearningRate { get; init; } = 5e-5;

    /// <summary>AdamW's first-moment decay rate.</summary>
    public double Beta1 { get; init; } = 0.9;

    /// <summary>AdamW's second-moment decay rate.</summary>
    public double Beta2 { get; init; } = 0.999;

    /// <summary>AdamW's denominator term.</summary>
    public double Epsilon { get; init; } = 1e-8;

    /// <summary>Weight decay: decoupled for AdamW (<c>theta *= 1 - lr * wd</c>), an L2 gradient term for SGD.</summary>
    public double WeightDecay { get; init; }

    /// <summary>SGD momentum (0 for plain SGD). Ignored by AdamW.</summary>
    public double Momentum { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Kind)) throw new ArgumentException($"OptimizerSettings.Kind: unknown optimizer {Kind}.");
        if (!(LearningRate >= 0) || double.IsInfinity(LearningRate)) throw new ArgumentException($"OptimizerSettings.LearningRate must be finite and non-negative, got {LearningRate}.");
        if (!(Beta1 >= 0 && Beta1 < 1)) throw new ArgumentException($"OptimizerSettings.Beta1 must be in [0, 1), got {Beta1}.");
        if (!(Beta2 >= 0 && Beta2 < 1)) throw new ArgumentException($"OptimizerSettings.Beta2 must be in [0, 1), got {Beta2}.");
        if (!(Epsilon >= 0) || double.IsInfinity(Epsilon)) throw new ArgumentException($"OptimizerSettings.Epsilon must be finite and non-negative, got {Epsilon}.");
        if (!(WeightDecay >= 0) || double.IsInfinity(WeightDecay)) throw new ArgumentException($"OptimizerSettings.WeightDecay must be finite and non-negative, got {WeightDecay}.");
        if (!(Momentum >= 0 && Momentum < 1)) throw new ArgumentException($"OptimizerSettings.Momentum must be in [0, 1), got {Momentum}.");
    }

    /// <summary>Creates the TorchSharp optimizer over exactly <paramref name="parameters"/> (one parameter group, in that order).</summary>
    public optim.Optimizer Create(IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Validate();
        var list = parameters.ToArray();
        return Kind switch
        {
            OptimizerKind.AdamW => new AdamW(list, LearningRate, Beta1, Beta2, Epsilon, WeightDecay),
            OptimizerKind.Sgd => optim.SGD(list, LearningRate, momentum: Momentum, weight_decay: WeightDecay),
            _ => throw new ArgumentException($"OptimizerSettings.Kind: unknown optimizer {Kind}."),
        };
    }
}
