using U2A.Core.Selection;

namespace U2A.Core.Tests.Selection;

public class AllUniformSelectorTests
{
    private static readonly double[] Scores = { 0.5, -1.0, 2.0, 0.5, 0.1 };

    [Fact]
    public void All_uniform_selects_the_whole_pool()
    {
        var s = new AllUniformSelector().Select(new SelectionRequest(Scores));
        Assert.Equal(Enumerable.Range(0, 5), s.Indices);
        Assert.Equal(1.0, s.Weights.Sum(), 12);
    }
}
