namespace U2A.Core.Selection;

/// <summary>What a selector sees.</summary>
/// <param name="Scores">Influence score <c>s_i = -dJ/dw_i</c> of every pool example (positive: unlearning it lowers J).</param>
/// <param name="Interaction">
/// Optional: column j of the gradient Gram matrix, <c>G[i, j] = &lt;grad l_i, grad l_j&gt;</c> for every pool example i.
/// Selectors that account for redundancy between examples (matching pursuit) need it; it costs one gradient and one
/// batched scoring pass per call.
/// </param>
public sealed record SelectionRequest(IReadOnlyList<double> Scores, Func<int, double[]>? Interaction = null)
{
    /// <summary>The influence scores of the pool.</summary>
    public IReadOnlyList<double> Scores { get; } = Scores ?? throw new ArgumentNullException(nameof(Scores));
}
