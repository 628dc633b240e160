namespace U2A.Core.Influence;

/// <summary>
/// The result of a hypergradient estimator: the direction(s) <c>v</c> such that the influence score of
/// candidate i is <c>s_i = sum over terms of &lt;grad l_i(point), v&gt; = -dJ/dw_i</c>, plus diagnostics
/// (iterations, residuals). Owns its tensors.
/// </summary>
public sealed class InfluenceDirection : IDisposable
{
    /// <summary>Creates a direction from its terms; takes ownership of their tensors (they leave any dispose scope and are
    /// disposed with this object).</summary>
    /// <exception cref="ArgumentException">There is no term, a term or its direction is null, or a tensor is null or disposed.</exception>
    public InfluenceDirection(IReadOnlyList<InfluenceTerm> terms, IReadOnlyDictionary<string, double>? diagnostics = null)
    {
        ArgumentNullException.ThrowIfNull(terms);
        if (terms.Count == 0) throw new ArgumentException("at least one term is needed.", nameof(terms));
        for (int i = 0; i < terms.Count; i++)
        {
            if (terms[i]?.Direction is not { } direction) throw new ArgumentException($"terms[{i}] or its Direction is null.", nameof(terms));
            if (direction.Concat(terms[i].Point ?? []).Any(t => t is null || t.IsInvalid))
                throw new ArgumentException($"terms[{i}] holds a null or disposed tensor.", nameof(terms));
        }
        Terms = terms;
        Diagnostics = diagnostics ?? new Dictionary<string, double>();
        foreach (var t in terms)
        {
            foreach (var x in t.Direction) x.DetachFromDisposeScope();
            if (t.Point is not null) foreach (var x in t.Point) x.DetachFromDisposeScope();
        }
    }

    /// <summary>The terms; implicit estimators have exactly one, at the current parameters.</summary>
    public IReadOnlyList<InfluenceTerm> Terms { get; }

    /// <summary>Estimator-specific numbers: "iterations", "residual" (relative), "direction_norm", ...</summary>
    public IReadOnlyDictionary<string, double> Diagnostics { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in Terms)
        {
            ParameterVector.DisposeAll(t.Direction);
            if (t.Point is not null) ParameterVector.DisposeAll(t.Point);
        }
    }
}
