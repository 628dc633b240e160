using U2A.Core.Selection;

namespace U2A.Core.Tests.Selection;

public class AllUniformSelectorTests
{
    private static readonly double[] Scores = { 0.5, -1.0, 2.0, 0.5, 0.1 };

    [Fact]
    public void All_uniform_selects_the_whole_pool_with_equal_weights()
    {
        var s = new AllUniformSelector().Select(new SelectionRequest(Scores));
        Assert.Equal(Enumerable.Range(0, 5), s.Indices);
        Assert.All(s.Weights, w => Assert.Equal(0.2, w, 15)); // uniform, not merely summing to 1
    }
}
