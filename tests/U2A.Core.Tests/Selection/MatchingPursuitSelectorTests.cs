using U2A.Core.Selection;

namespace U2A.Core.Tests.Selection;

public class MatchingPursuitSelectorTests
{
    [Fact]
    public void Matching_pursuit_skips_an_example_redundant_with_one_already_chosen()
    {
        // Gradients: g0 = (1,0), g1 = (1,0) (a duplicate of g0), g2 = (0,1). v = (1, 0.8): s = (1, 1, 0.8).
        // Top-2 would take 0 and 1 (duplicates); matching pursuit takes 0, then the residual (0, 0.8) favours 2.
        double[][] g = { new[] { 1.0, 0.0 }, new[] { 1.0, 0.0 }, new[] { 0.0, 1.0 } };
        double Dot(double[] a, double[] b) => a[0] * b[0] + a[1] * b[1];
        var request = new SelectionRequest(new[] { 1.0, 1.0, 0.8 }, j => g.Select(gi => Dot(gi, g[j])).ToArray());
        Assert.Equal(new[] { 0, 1 }, new TopKSelector(2).Select(request).Indices);
        var s = new MatchingPursuitSelector(2).Select(request);
        Assert.Equal(new[] { 0, 2 }, s.Indices);
        // Coefficients c0 = 1, c2 = 0.8, normalised: 1/1.8 and 0.8/1.8.
        Assert.Equal(1 / 1.8, s.Weights[0], 12);
        Assert.Equal(0.8 / 1.8, s.Weights[1], 12);
    }
}
