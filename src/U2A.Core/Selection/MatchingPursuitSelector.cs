namespace U2A.Core.Selection;

/// <summary>
/// Greedy marginal-gain selection under a budget k (the paper's matching-pursuit view): approximate the influence
/// direction v by a sparse non-negative combination of per-example gradients. With residual scores
/// <c>r_i = &lt;grad l_i, v - sum_{j in S} c_j grad l_j&gt;</c> (initially <c>r = s</c>), each step picks
/// <c>i* = argmax r_i</c> among positive residuals, sets <c>c_i* = r_i* / G[i*, i*]</c> and updates
/// <c>r -= c_i* G[:, i*]</c>, so an example redundant with one already chosen loses its gain. Weights are the
/// coefficients c normalised onto the simplex. Stops early when no residual is positive.
/// Needs <see cref="SelectionRequest.Interaction"/> (one Gram column per selected example).
/// </summary>
public sealed class MatchingPursuitSelector : IExampleSelector
{
    /// <summary>Creates the selector; <paramref name="k"/> must be at least 1.</summary>
    public MatchingPursuitSelector(int k)
    {
        Require.AtLeastOne(k, "MatchingPursuitSelector.K");
        K = k;
    }

    /// <summary>The budget k.</summary>
    public int K { get; }

    /// <inheritdoc />
    public string Name => $"matching-pursuit-{K}";

    /// <inheritdoc />
    public void ValidatePool(int poolSize)
    {
        Require.That(K <= poolSize, "MatchingPursuitSelector.K", K, $"must not exceed the pool of {poolSize} examples (MatchingPursuitSelector.K = {K} is larger than the pool of {poolSize})");
    }

    /// <inheritdoc />
    public ExampleSelection Select(SelectionRequest request)
    {
        SelectionGuard.Validate(request, K);
        if (request.Interaction is null)
            throw new ArgumentException("MatchingPursuitSelector needs SelectionRequest.Interaction (the gradient Gram columns).", nameof(request));
        int n = request.Scores.Count;
        var residual = request.Scores.ToArray();
        var chosen = new List<int>();
        var coefficients = new List<double>();
        var taken = new bool[n];
        while (chosen.Count < K)
        {
            int best = -1;
            for (int i = 0; i < n; i++)
                if (!taken[i] && residual[i] > 0 && (best < 0 || residual[i] > residual[best])) best = i;
            if (best < 0) break;
            var column = request.Interaction(best);
            if (column is null || column.Length != n) throw new InvalidOperationException($"Interaction({best}) returned {column?.Length ?? 0} values for a pool of {n}.");
            for (int i = 0; i < n; i++)
                if (!double.IsFinite(column[i])) throw new InvalidOperationException($"Interaction({best})[{i}] is not finite ({column[i]}): the gradient Gram matrix must be finite.");
            double norm2 = column[best];
            if (!(norm2 > 0)) { taken[best] = true; continue; } // a zero gradient cannot help
            double c = residual[best] / norm2;
            for (int i = 0; i < n; i++) residual[i] -= c * column[i];
            taken[best] = true;
            chosen.Add(best);
            coefficients.Add(c);
        }
        if (chosen.Count == 0)
        {
            int top = SelectionGuard.Descending(request.Scores).First();
            return new ExampleSelection(new[] { top }, new[] { 1.0 });
        }
        double total = coefficients.Sum();
        return new ExampleSelection(chosen, coefficients.Select(c => c / total).ToArray());
    }
}
