namespace U2A.Core.Selection;

/// <summary>The negatives chosen for unlearning and their starting weights (on the simplex: non-negative, summing to 1).</summary>
/// <remarks>Both lists are copied, and checked: a selector that builds an invalid selection gets an
/// <see cref="ArgumentException"/> naming the field and the value.</remarks>
/// <param name="Indices">Pool indices of the selected examples, in selection order: at least one, non-negative, no repeats.</param>
/// <param name="Weights">One weight per selected example: finite, non-negative, summing to 1 (within 1e-6).</param>
/// <exception cref="ArgumentNullException">A list is null.</exception>
/// <exception cref="ArgumentException">The selection is empty, an index is negative or repeated, the counts differ, or the weights are not on the simplex.</exception>
public sealed record ExampleSelection(IReadOnlyList<int> Indices, IReadOnlyList<double> Weights)
{
    /// <summary>How far the weights' sum may be from 1.</summary>
    public const double SimplexTolerance = 1e-6;

    /// <summary>Pool indices of the selected examples, in selection order.</summary>
    public IReadOnlyList<int> Indices { get; } = CheckIndices(Indices);

    /// <summary>One weight per selected example, on the simplex.</summary>
    public IReadOnlyList<double> Weights { get; } = CheckWeights(Weights, Indices);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when an index is not below <paramref name="poolSize"/>.</summary>
    /// <param name="poolSize">The number of examples in the pool the selection was made from.</param>
    /// <param name="selector">The selector's name, for the message.</param>
    public void ThrowIfOutside(int poolSize, string selector = "the selector")
    {
        for (int i = 0; i < Indices.Count; i++)
            if (Indices[i] >= poolSize)
                throw new ArgumentOutOfRangeException(nameof(Indices), Indices[i], $"{selector} selected Indices[{i}] = {Indices[i]}, outside the pool of {poolSize} examples.");
    }

    private static int[] CheckIndices(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices, nameof(Indices));
        if (indices.Count == 0) throw new ArgumentException("a selection must hold at least one example (Indices is empty).", nameof(Indices));
        var copy = indices.ToArray();
        var seen = new HashSet<int>();
        for (int i = 0; i < copy.Length; i++)
        {
            if (copy[i] < 0) throw new ArgumentException($"Indices[{i}] = {copy[i]} is negative.", nameof(Indices));
            if (!seen.Add(copy[i])) throw new ArgumentException($"Indices[{i}] = {copy[i]} is selected twice; each example may appear once (give it a larger weight instead).", nameof(Indices));
        }
        return copy;
    }

    private static double[] CheckWeights(IReadOnlyList<double> weights, IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(weights, nameof(Weights));
        var copy = weights.ToArray();
        if (copy.Length != indices.Count)
            throw new ArgumentException($"there are {copy.Length} weights for {indices.Count} selected examples; give one weight per index.", nameof(Weights));
        double sum = 0;
        for (int i = 0; i < copy.Length; i++)
        {
            if (!double.IsFinite(copy[i]) || copy[i] < 0)
                throw new ArgumentException($"Weights[{i}] = {copy[i]}; weights must be finite and non-negative.", nameof(Weights));
            sum += copy[i];
        }
        if (Math.Abs(sum - 1) > SimplexTolerance)
            throw new ArgumentException($"the weights sum to {sum}, not 1: a selection's weights lie on the simplex (divide them by their sum).", nameof(Weights));
        return copy;
    }
}
