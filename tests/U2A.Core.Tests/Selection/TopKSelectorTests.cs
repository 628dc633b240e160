using U2A.Core.Selection;

namespace U2A.Core.Tests.Selection;

public class TopKSelectorTests
{
    private static readonly double[] Scores = { 0.5, -1.0, 2.0, 0.5, 0.1 };

    [Fact]
    public void Top_k_takes_the_highest_scores_with_uniform_weights_and_breaks_ties_by_index()
    {
        var s = new TopKSelector(3).Select(new SelectionRequest(Scores));
        Assert.Equal(new[] { 2, 0, 3 }, s.Indices);
        Assert.All(s.Weights, w => Assert.Equal(1.0 / 3, w, 15));
    }
}
