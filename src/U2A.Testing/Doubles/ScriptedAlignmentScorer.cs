using U2A.Core.Alignment;
using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Testing;

/// <summary>
/// A test double of an <see cref="IAlignmentScorer"/>: J is a function of the model given by the test; calls are counted.
/// </summary>
/// <example>
/// <code>
/// // J = the token-mean NLL of some good responses: lower when the model likes them more.
/// var j = new ScriptedAlignmentScorer("good NLL", model =&gt; ResponseLogProbs.Compute(model, good).MeanNll.mean());
/// </code>
/// </example>
public sealed class ScriptedAlignmentScorer : IAlignmentScorer
{
    private readonly Func<ICausalLM, Tensor> _objective;
    private int _calls;

    /// <summary>A scorer whose J is <paramref name="objective"/>(model): a scalar with an autograd graph, computed anew on every call.</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    public ScriptedAlignmentScorer(string name, Func<ICausalLM, Tensor> objective)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        _objective = objective ?? throw new ArgumentNullException(nameof(objective));
        Name = name;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The number of calls of <see cref="Objective"/> so far.</summary>
    public int CallCount => Volatile.Read(ref _calls);

    /// <inheritdoc />
    public Tensor Objective(ICausalLM model)
    {
        ArgumentNullException.ThrowIfNull(model);
        Interlocked.Increment(ref _calls);
        return _objective(model);
    }
}
