using U2A.Core.Influence;
using Xunit;
using static TorchSharp.torch;

namespace U2A.Testing.Tests.Checks;

public class HypergradientCheckTests
{
    [Theory]
    [InlineData("GradAscent")]
    [InlineData("NPO")]
    [InlineData("SimNPO")]
    public void Identity_scores_predict_the_change_of_J_after_one_gradient_step_for_the_library_strategies(string strategy)
    {
        using var f = new TestData.Problem(TestData.Strategy(strategy));
        var before = TestData.Values(f.Model);
        // v = grad J: the prediction is the first-order Taylor term of the measurement, so magnitudes agree too.
        var report = HypergradientCheck.Run(f.Unlearning, new IdentityEstimator(), new HypergradientCheckOptions { MaxRelativeError = 0.02 });
        Assert.True(report.Passed, report.ToString());
        Assert.Equal(6, report.Probes.Count);
        Assert.Equal(1.0, report.SignAgreement);
        Assert.True(report.Correlation > 0.99, report.ToString());
        Assert.Equal(before, TestData.Values(f.Model));
    }

    [Fact]
    public void An_influence_direction_of_the_wrong_sign_fails()
    {
        using var f = new TestData.Problem(new U2A.Core.Unlearning.GradAscent());
        var report = HypergradientCheck.Run(f.Unlearning, new NegatedEstimator(new IdentityEstimator()));
        Assert.False(report.Passed);
        Assert.Equal(0.0, report.SignAgreement);
        Assert.True(report.Correlation < -0.99, report.ToString());
        var ex = Assert.Throws<U2ACheckException>(report.ThrowIfFailed);
        Assert.Contains("sign agreement 0 % is below 90 %", ex.Message.Replace("\u00a0", " "));
        Assert.Contains("pool step", ex.Message);
        Assert.Contains("example 0: score", ex.Message);
    }

    [Fact]
    public void The_unrolled_estimator_on_a_bilevel_problem_agrees_in_sign_and_correlation()
    {
        using var f = new TestData.Problem(new U2A.Core.Unlearning.SimNpo());
        var problem = f.Unlearning.AtWeights(Enumerable.Range(0, 6).ToArray(), Enumerable.Repeat(1.0 / 6, 6).ToArray(), hessianBatchSize: 6, sampleSeed: 0);
        var report = HypergradientCheck.Run(problem, new UnrolledEstimator(steps: 1, learningRate: 0.01), new InfluenceScorer(ScoringMethod.BatchedExact),
            new HypergradientCheckOptions { Examples = new[] { 1, 3, 5 } });
        Assert.True(report.Passed, report.ToString());
        Assert.Equal(new[] { 1, 3, 5 }, report.Probes.Select(p => p.Example));
    }

    [Fact]
    public void Refuses_a_float32_model_and_examples_outside_the_pool()
    {
        using var f32 = new TestData.Problem(new U2A.Core.Unlearning.GradAscent(), ScalarType.Float32);
        Assert.Contains("Float64", Assert.Throws<ArgumentException>(() => HypergradientCheck.Run(f32.Unlearning, new IdentityEstimator())).Message);
        using var f = new TestData.Problem(new U2A.Core.Unlearning.GradAscent());
        Assert.Throws<ArgumentOutOfRangeException>(() => HypergradientCheck.Run(f.Unlearning, new IdentityEstimator(), new HypergradientCheckOptions { Examples = new[] { 6 } }));
        Assert.Throws<ArgumentException>(() => HypergradientCheck.Run(f.Unlearning, new IdentityEstimator(), new HypergradientCheckOptions { Weights = new[] { 1.0 } }));
    }

    /// <summary>An estimator whose direction is another's times -1 (a sign error).</summary>
    private sealed class NegatedEstimator(IHypergradientEstimator inner) : IHypergradientEstimator
    {
        public string Name => "negated " + inner.Name;
        public InfluenceDirection Estimate(BilevelProblem problem, CancellationToken cancellationToken = default)
        {
            using var d = inner.Estimate(problem, cancellationToken);
            var terms = d.Terms.Select(t => new InfluenceTerm(t.Point?.Select(x => x.clone()).ToArray(), t.Direction.Select(x => -x).ToArray())).ToArray();
            return new InfluenceDirection(terms);
        }
    }
}
