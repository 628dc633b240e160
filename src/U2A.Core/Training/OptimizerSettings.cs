using TorchSharp.Modules;
using static TorchSharp.torch;

namespace U2A.Core.Training;

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
    public void Validate() => Validate(nameof(OptimizerSettings));

    internal void Validate(string path)
    {
        Require.Defined(Kind, $"{path}.Kind");
        Require.NonNegative(LearningRate, $"{path}.LearningRate");
        Require.That(Beta1 >= 0 && Beta1 < 1, $"{path}.Beta1", Beta1, "must be in [0, 1)");
        Require.That(Beta2 >= 0 && Beta2 < 1, $"{path}.Beta2", Beta2, "must be in [0, 1)");
        Require.NonNegative(Epsilon, $"{path}.Epsilon");
        Require.NonNegative(WeightDecay, $"{path}.WeightDecay");
        Require.That(Momentum >= 0 && Momentum < 1, $"{path}.Momentum", Momentum, "must be in [0, 1)");
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
            _ => throw new ArgumentOutOfRangeException("OptimizerSettings.Kind", Kind, $"OptimizerSettings.Kind has no value {Kind}."),
        };
    }
}
