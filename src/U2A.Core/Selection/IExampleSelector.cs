namespace U2A.Core.Selection;

/// <summary>The negatives chosen for unlearning and their starting weights (on the simplex: non-negative, summing to 1).</summary>
/// <param name="Indices">Pool indices of the selected examples, in selection order.</param>
/// <param name="Weights">One weight per selected example.</param>
public sealed record Selection(IReadOnlyList<int> Indices, IReadOnlyList<double> Weights);

/// <summary>
/// Chooses which negatives to unlearn, and with what starting weights, from their influence scores
/// <c>s_i = -dJ/dw_i</c> (positive: unlearning example i lowers J, i.e. helps alignment).
/// </summary>
public interface IExampleSelector
{
    /// <summary>Short name for logs and reports.</summary>
    string Name { get; }

    /// <summary>Selects from a pool whose scores are <paramref name="scores"/> (one per pool example).</summary>
    Selection Select(IReadOnlyList<double> scores);
}
