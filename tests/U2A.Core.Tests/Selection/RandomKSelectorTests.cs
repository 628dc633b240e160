using U2A.Core.Selection;

namespace U2A.Core.Tests.Selection;

public class RandomKSelectorTests
{
    [Fact]
    public void Random_k_is_deterministic_for_a_seed_and_differs_across_seeds_with_uniform_weights()
    {
        var pool = new SelectionRequest(Enumerable.Range(0, 50).Select(i => (double)i).ToArray());
        var selection = new RandomKSelector(10, seed: 4).Select(pool);
        Assert.All(selection.Weights, w => Assert.Equal(0.1, w, 15));
        var a = selection.Indices;
        Assert.Equal(a, new RandomKSelector(10, seed: 4).Select(pool).Indices);
        Assert.NotEqual(a, new RandomKSelector(10, seed: 5).Select(pool).Indices);
        Assert.Equal(10, a.Distinct().Count());
    }
}
