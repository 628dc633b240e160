namespace U2A.Core.Selection;

/// <summary>
/// The k highest-scored examples with uniform weights 1/k (the U2A reference code, k = 1024 there).
/// Ties are broken by the lower index, so the result is deterministic.
/// </summary>
public sealed class TopKSelector : IExampleSelector
{
    /// <summary>Creates the selector; <paramref name="k"/> must be at least 1.</summary>
    public TopKSelector(int k)
    {
        Require.AtLeastOne(k, "TopKSelector.K");
        K = k;
    }

    /// <summary>The budget k.</summary>
    public int K { get; }

    /// <inheritdoc />
    public string Name => $"top-{K}";

    /// <inheritdoc />
    public void ValidatePool(int poolSize)
    {
        Require.That(K <= poolSize, "TopKSelector.K", K, $"must not exceed the pool of {poolSize} examples (TopKSelector.K = {K} is larger than the pool of {poolSize})");
    }

    /// <inheritdoc />
    public ExampleSelection Select(SelectionRequest request)
    {
        SelectionGuard.Validate(request, K);
        var order = SelectionGuard.Descending(request.Scores).Take(K).ToArray();
        return new ExampleSelection(order, Enumerable.Repeat(1.0 / order.Length, order.Length).ToArray());
    }
}
