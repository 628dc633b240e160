namespace U2A.Core.Selection;

/// <summary>The negatives chosen for unlearning and their starting weights (on the simplex: non-negative, summing to 1).</summary>
/// <param name="Indices">Pool indices of the selected examples, in selection order.</param>
/// <param name="Weights">One weight per selected example.</param>
public sealed record Selection(IReadOnlyList<int> Indices, IReadOnlyList<double> Weights);

/// <summary>What a selector sees.</summary>
/// <param name="Scores">Influence score <c>s_i = -dJ/dw_i</c> of every pool example (positive: unlearning it lowers J).</param>
/// <param name="Interaction">
/// Optional: column j of the gradient Gram matrix, <c>G[i, j] = &lt;grad l_i, grad l_j&gt;</c> for every pool example i.
/// Selectors that account for redundancy between examples (matching pursuit) need it; it costs one gradient and one
/// batched scoring pass per call.
/// </param>
public sealed record SelectionRequest(IReadOnlyList<double> Scores, Func<int, double[]>? Interaction = null);

/// <summary>
/// Chooses which negatives to unlearn, and with what starting weights, from their influence scores.
/// </summary>
public interface IExampleSelector
{
    /// <summary>Short name for logs and reports.</summary>
    string Name { get; }

    /// <summary>Selects from the pool described by <paramref name="request"/>. Never returns an empty selection.</summary>
    Selection Select(SelectionRequest request);

    /// <summary>
    /// Checks, before any scoring work, that this selector can select from a pool of <paramref name="poolSize"/>
    /// examples (a budget k larger than the pool, say). Throws <see cref="ArgumentException"/> naming the field.
    /// </summary>
    void ValidatePool(int poolSize)
    {
    }
}
