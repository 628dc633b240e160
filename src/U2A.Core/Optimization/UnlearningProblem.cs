using U2A.Core.Alignment;
using U2A.Core.Influence;
using U2A.Core.Models;
using U2A.Core.Unlearning;
using static TorchSharp.torch;

namespace U2A.Core.Optimization;

/// <summary>
/// The U2A bilevel problem, its two levels as explicit parts:
/// <code>
/// inner:  theta*(w) = argmin_theta  L(theta; w) = sum_i w_i l_i(theta) + R(theta)     (Inner, over the Pool)
/// outer:  min_w J(theta*(w))                                                          (Objective)
/// </code>
/// where <c>theta</c> are the <see cref="Model"/>'s trainable parameters. <see cref="BilevelOptimizer"/> solves it; the
/// influence machinery sees it at given weights through <see cref="AtWeights"/>.
/// </summary>
/// <remarks>Every part stays the caller's: the problem disposes nothing.</remarks>
public sealed class UnlearningProblem
{
    /// <summary>Composes the problem.</summary>
    /// <param name="model">The model whose trainable parameters are <c>theta</c> (updated in place by a run).</param>
    /// <param name="pool">The candidate negatives, with cached reference log-probs when the strategy needs them.</param>
    /// <param name="inner">The inner objective <c>L(theta; w)</c>: a per-example unlearning loss plus terms.</param>
    /// <param name="objective">The outer objective <c>J(theta)</c>, lower is better.</param>
    /// <exception cref="ArgumentException">The pool is empty, or the strategy needs reference log-probs the pool lacks.</exception>
    public UnlearningProblem(ICausalLM model, ForgetBatch pool, InnerObjective inner, IAlignmentScorer objective)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Pool = pool ?? throw new ArgumentNullException(nameof(pool));
        Inner = inner ?? throw new ArgumentNullException(nameof(inner));
        Objective = objective ?? throw new ArgumentNullException(nameof(objective));
        Require.That(pool.Count >= 1, nameof(pool), pool.Count, "must hold at least one negative example (the forget pool is empty)");
        if (inner.Unlearner.NeedsReference && pool.Reference is null)
            throw new ArgumentException($"{inner.Unlearner.Name} needs reference log-probs: build the pool with ForgetBatch.WithReference.", nameof(pool));
    }

    /// <summary>The model; its trainable parameters are the inner variables <c>theta</c>.</summary>
    public ICausalLM Model { get; }

    /// <summary>The candidate negatives the weights <c>w</c> range over.</summary>
    public ForgetBatch Pool { get; }

    /// <summary>The inner objective <c>L(theta; w)</c>.</summary>
    public InnerObjective Inner { get; }

    /// <summary>The outer objective <c>J(theta)</c>.</summary>
    public IAlignmentScorer Objective { get; }

    /// <summary>
    /// The problem at the current parameters and the weights <paramref name="weights"/> of the pool examples
    /// <paramref name="indices"/>, as the influence machinery sees it. The inner loss of Hessian-vector products is formed
    /// on a seeded sample of at most <paramref name="hessianBatchSize"/> of those examples, re-weighted so its weights sum as before.
    /// </summary>
    public BilevelProblem AtWeights(IReadOnlyList<int> indices, IReadOnlyList<double> weights, int hessianBatchSize, int sampleSeed)
    {
        ArgumentNullException.ThrowIfNull(indices);
        ArgumentNullException.ThrowIfNull(weights);
        Require.That(indices.Count == weights.Count && indices.Count > 0, nameof(weights), weights.Count, $"must give one weight per index ({indices.Count})");
        var rng = new Random(sampleSeed);
        var sample = Enumerable.Range(0, indices.Count).OrderBy(_ => rng.Next()).Take(hessianBatchSize).ToArray();
        double scale = weights.Sum() / sample.Sum(s => weights[s]);
        Tensor InnerLoss()
        {
            using var scope = NewDisposeScope();
            using var batch = Pool.Select(sample.Select(s => (long)indices[s]).ToArray());
            var w = tensor(sample.Select(s => weights[s] * scale).ToArray(), dtype: Model.DType, device: Model.Device);
            return Inner.Value(Model, batch, w).MoveToOuterDisposeScope();
        }
        Tensor PerExample(IReadOnlyList<long> idx)
        {
            using var batch = Pool.Select(idx);
            return Inner.PerExampleLosses(Model, batch);
        }
        return new BilevelProblem(Model.TrainableParameters, InnerLoss, () => Objective.Objective(Model), PerExample, Pool.Count, objectiveName: Objective.Name)
        {
            ExampleLengths = Pool.Tokens.SpanLengths,
            ForwardOnly = () => ForwardOnlyPasses.Enter(Model),
        };
    }
}
