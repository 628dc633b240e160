using U2A.Core.Models;
using U2A.Core.Unlearning;
using static TorchSharp.torch;

namespace U2A.Testing;

/// <summary>
/// A test double of an <see cref="IUnlearner"/> whose per-example loss is given by the test, and which records its calls:
/// to test selectors, the optimizer's control flow or the inner objective without a real strategy.
/// </summary>
/// <example>
/// <code>
/// var ga = new ScriptedUnlearner((policy, reference) =&gt; policy.Mean);          // gradient ascent
/// var signs = ScriptedUnlearner.WithCoefficients(1, -1, 1, 0);                    // l_i = c_i * policy.Mean_i, batches of 4 only
/// </code>
/// </example>
public sealed class ScriptedUnlearner : IUnlearner
{
    private readonly Func<SequenceLogProbs, SequenceLogProbs?, Tensor> _loss;
    private readonly List<ScriptedUnlearnerCall> _calls = new();
    private readonly object _gate = new();

    /// <summary>A strategy whose per-example loss is <paramref name="loss"/>(policy, reference), a vector [B] computed with tensor operations.</summary>
    /// <param name="loss">The loss; it receives the reference log-probs when the batch has them (null otherwise).</param>
    /// <param name="name">The strategy's name; default "Scripted".</param>
    /// <param name="needsReference">What <see cref="NeedsReference"/> returns.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    public ScriptedUnlearner(Func<SequenceLogProbs, SequenceLogProbs?, Tensor> loss, string name = "Scripted", bool needsReference = false)
    {
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        _loss = loss;
        Name = name;
        NeedsReference = needsReference;
    }

    /// <summary>
    /// A strategy with <c>l_i = c_i * policy.Mean_i</c> (gradient ascent scaled per example; a negative <c>c_i</c> makes example i a
    /// "learn" example, zero one that does not matter). Batches must have exactly as many examples as there are coefficients.
    /// </summary>
    /// <exception cref="ArgumentException">There is no coefficient, or one is not finite.</exception>
    public static ScriptedUnlearner WithCoefficients(params double[] coefficients)
    {
        ArgumentNullException.ThrowIfNull(coefficients);
        if (coefficients.Length == 0) throw new ArgumentException("coefficients must not be empty.", nameof(coefficients));
        for (int i = 0; i < coefficients.Length; i++)
            if (!double.IsFinite(coefficients[i])) throw new ArgumentException($"coefficients[{i}] must be finite, got {coefficients[i]}.", nameof(coefficients));
        var c = coefficients.ToArray();
        return new ScriptedUnlearner((policy, _) =>
        {
            if (policy.Count != c.Length)
                throw new InvalidOperationException($"ScriptedUnlearner.WithCoefficients has {c.Length} coefficients but got a batch of {policy.Count} examples; " +
                    "it scripts batches of exactly that size.");
            using var scope = NewDisposeScope();
            var mean = policy.Mean;
            return (mean * tensor(c, dtype: mean.dtype, device: mean.device)).MoveToOuterDisposeScope();
        }, "ScriptedCoefficients");
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public bool NeedsReference { get; }

    /// <summary>Every call so far, in order.</summary>
    public IReadOnlyList<ScriptedUnlearnerCall> Calls
    {
        get { lock (_gate) return _calls.ToArray(); }
    }

    /// <summary>The number of calls so far.</summary>
    public int CallCount
    {
        get { lock (_gate) return _calls.Count; }
    }

    /// <inheritdoc />
    public Tensor PerExampleLoss(SequenceLogProbs policy, SequenceLogProbs? reference)
    {
        ArgumentNullException.ThrowIfNull(policy);
        lock (_gate) _calls.Add(new ScriptedUnlearnerCall(policy.Count, reference is not null, is_grad_enabled()));
        return _loss(policy, reference);
    }
}
