using U2A.Core.Models;

namespace U2A.Core.Alignment;

/// <summary>An <see cref="IAlignmentEvaluator"/> from a function: <c>AlignmentEvaluator.From("win rate", (model, ct) => ...)</c>.</summary>
public sealed class AlignmentEvaluator : IAlignmentEvaluator
{
    private readonly Func<ICausalLM, CancellationToken, double> _evaluate;

    private AlignmentEvaluator(string name, Func<ICausalLM, CancellationToken, double> evaluate)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
        _evaluate = evaluate ?? throw new ArgumentNullException(nameof(evaluate));
    }

    /// <summary>An evaluator that calls <paramref name="evaluate"/> (higher is better).</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    public static IAlignmentEvaluator From(string name, Func<ICausalLM, CancellationToken, double> evaluate) => new AlignmentEvaluator(name, evaluate);

    /// <summary>The PA score <c>-J</c> of an objective (evaluated without gradients), for runs that have no other score.</summary>
    public static IAlignmentEvaluator NegativeObjective(IAlignmentScorer objective)
    {
        ArgumentNullException.ThrowIfNull(objective);
        return new AlignmentEvaluator($"-{objective.Name}", (model, ct) =>
        {
            ct.ThrowIfCancellationRequested();
            using var noGrad = TorchSharp.torch.no_grad();
            using var scope = TorchSharp.torch.NewDisposeScope();
            return -objective.Objective(model).to_type(TorchSharp.torch.ScalarType.Float64).item<double>();
        });
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public double Evaluate(ICausalLM model, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        return _evaluate(model, cancellationToken);
    }
}
