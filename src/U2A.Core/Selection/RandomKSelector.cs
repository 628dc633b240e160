namespace U2A.Core.Selection;

/// <summary>k examples drawn uniformly without replacement with a seeded generator, uniform weights (a baseline).</summary>
public sealed class RandomKSelector : IExampleSelector
{
    /// <summary>Creates the selector.</summary>
    public RandomKSelector(int k, int seed = 0)
    {
        Require.AtLeastOne(k, "RandomKSelector.K");
        K = k; Seed = seed;
    }

    /// <summary>The budget k.</summary>
    public int K { get; }
    /// <summary>The seed; the same seed and pool size give the same selection.</summary>
    public int Seed { get; }

    /// <inheritdoc />
    public string Name => $"random-{K}";

    /// <inheritdoc />
    public void ValidatePool(int poolSize)
    {
        Require.That(K <= poolSize, "RandomKSelector.K", K, $"must not exceed the pool of {poolSize} examples (RandomKSelector.K = {K} is larger than the pool of {poolSize})");
    }

    /// <inheritdoc />
    public ExampleSelection Select(SelectionRequest request)
    {
        SelectionGuard.Validate(request, K);
        var rng = new Random(Seed);
        var pool = Enumerable.Range(0, request.Scores.Count).ToArray();
        for (int i = 0; i < K; i++)
        {
            int j = rng.Next(i, pool.Length);
            (pool[i], pool[j]) = (pool[j], pool[i]);
        }
        return new ExampleSelection(pool.Take(K).ToArray(), Enumerable.Repeat(1.0 / K, K).ToArray());
    }
}
