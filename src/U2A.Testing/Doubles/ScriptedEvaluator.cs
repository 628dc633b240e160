using U2A.Core.Alignment;
using U2A.Core.Models;

namespace U2A.Testing;

/// <summary>
/// A test double of an <see cref="IAlignmentEvaluator"/>: PA scores from a script (a sequence, or a function of the call number), with
/// every returned score recorded. Lets a test drive early stopping and best-iteration bookkeeping without a real model of PA.
/// </summary>
/// <example>
/// <code>
/// var pa = ScriptedEvaluator.FromSequence(new[] { 0.1, 0.3, 0.2, 0.2 });   // improves once, then stalls
/// </code>
/// </example>
public sealed class ScriptedEvaluator : IAlignmentEvaluator
{
    private readonly Func<ICausalLM, int, double> _score;
    private readonly List<double> _returned = new();
    private readonly object _gate = new();

    private ScriptedEvaluator(string name, Func<ICausalLM, int, double> score)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
        _score = score;
    }

    /// <summary>
    /// Returns <paramref name="scores"/> in order, one per call. When they run out, the next call throws
    /// <see cref="InvalidOperationException"/> (saying how many were scripted), unless <paramref name="repeatLast"/>.
    /// </summary>
    /// <exception cref="ArgumentException">There is no score.</exception>
    public static ScriptedEvaluator FromSequence(IEnumerable<double> scores, string name = "scripted PA", bool repeatLast = false)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var list = scores.ToArray();
        if (list.Length == 0) throw new ArgumentException("scores must not be empty.", nameof(scores));
        return new ScriptedEvaluator(name, (_, call) =>
        {
            if (call < list.Length) return list[call];
            if (repeatLast) return list[^1];
            throw new InvalidOperationException($"ScriptedEvaluator '{name}' scripted {list.Length} scores, but was called for call number {call + 1}.");
        });
    }

    /// <summary>Returns <paramref name="score"/>(model, call number from 0) on each call.</summary>
    public static ScriptedEvaluator FromFunction(Func<ICausalLM, int, double> score, string name = "scripted PA")
    {
        ArgumentNullException.ThrowIfNull(score);
        return new ScriptedEvaluator(name, score);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>Every score returned so far, in order.</summary>
    public IReadOnlyList<double> Returned
    {
        get { lock (_gate) return _returned.ToArray(); }
    }

    /// <summary>The number of calls that returned a score.</summary>
    public int CallCount
    {
        get { lock (_gate) return _returned.Count; }
    }

    /// <inheritdoc />
    public double Evaluate(ICausalLM model, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            double score = _score(model, _returned.Count);
            _returned.Add(score);
            return score;
        }
    }
}
