using U2A.Core.Selection;

namespace U2A.Core.Tests.Selection;

public class SelectionGuardTests
{
    private static readonly double[] Scores = { 0.5, -1.0, 2.0, 0.5, 0.1 };

    [Fact]
    public void Bad_requests_name_the_problem()
    {
        Assert.Contains("larger than the pool", Assert.Throws<ArgumentException>(() => new TopKSelector(9).Select(new SelectionRequest(Scores))).Message);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => new AllUniformSelector().Select(new SelectionRequest(Array.Empty<double>()))).Message);
        Assert.Contains("not finite", Assert.Throws<ArgumentException>(() => new TopKSelector(1).Select(new SelectionRequest(new[] { double.NaN }))).Message);
        Assert.Contains("Interaction", Assert.Throws<ArgumentException>(() => new MatchingPursuitSelector(1).Select(new SelectionRequest(Scores))).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new TopKSelector(0));
    }
}
