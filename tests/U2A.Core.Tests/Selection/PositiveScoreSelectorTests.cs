using U2A.Core.Selection;

namespace U2A.Core.Tests.Selection;

public class PositiveScoreSelectorTests
{
    private static readonly double[] Scores = { 0.5, -1.0, 2.0, 0.5, 0.1 };

    [Fact]
    public void Positive_only_takes_every_positive_score_with_uniform_weights()
    {
        var s = new PositiveScoreSelector().Select(new SelectionRequest(Scores));
        Assert.Equal(new[] { 2, 0, 3, 4 }, s.Indices);
        Assert.All(s.Weights, w => Assert.Equal(0.25, w, 15));
        Assert.Equal(new[] { 2 }, new PositiveScoreSelector(1).Select(new SelectionRequest(Scores)).Indices);
        var fallback = new PositiveScoreSelector().Select(new SelectionRequest(new[] { -3.0, -1.0 }));
        Assert.Equal(new[] { 1 }, fallback.Indices);
        Assert.Equal(new[] { 1.0 }, fallback.Weights);
    }
}
