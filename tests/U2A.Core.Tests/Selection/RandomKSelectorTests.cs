using U2A.Core.Selection;

namespace U2A.Core.Tests.Selection;

public class RandomKSelectorTests
{
    [Fact]
    public void Random_k_is_deterministic_for_a_seed_and_differs_across_seeds()
    {
        var pool = new SelectionRequest(Enumerable.Range(0, 50).Select(i => (double)i).ToArray());
        var a = new RandomKSelector(10, seed: 4).Select(pool).Indices;
        Assert.Equal(a, new RandomKSelector(10, seed: 4).Select(pool).Indices);
        Assert.NotEqual(a, new RandomKSelector(10, seed: 5).Select(pool).Indices);
        Assert.Equal(10, a.Distinct().Count());
    }
}
