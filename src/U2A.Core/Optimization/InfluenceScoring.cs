using U2A.Core.Influence;
using static TorchSharp.torch;

namespace U2A.Core.Optimization;

/// <summary>The scoring step of the outer loop: influence scores of pool examples and Gram columns for selectors.</summary>
internal sealed class InfluenceScoring(UnlearningProblem problem, IHypergradientEstimator estimator, InfluenceScoringOptions options, long seed,
    Microsoft.Extensions.Logging.ILogger? logger = null)
{
    private readonly InfluenceScorer _scorer = options.CreateScorer(logger);

    /// <summary>Influence scores <c>s_i = -dJ/dw_i</c> of the pool examples <paramref name="indices"/> under weights <paramref name="weights"/>.</summary>
    public double[] Scores(IReadOnlyList<int> indices, IReadOnlyList<double> weights, int iteration, CancellationToken ct)
    {
        var view = problem.AtWeights(indices, weights, options.HessianBatchSize, unchecked((int)(seed * 31 + iteration)));
        using var direction = estimator.Estimate(view, ct);
        var scores = _scorer.Score(view, direction, indices.Select(i => (long)i).ToArray(), ct);
        if (scores.Any(s => !double.IsFinite(s)))
            throw new BilevelNumericalException(BilevelPhase.Score, iteration, 0, "a non-finite influence score");
        return scores;
    }

    /// <summary>Column j of the gradient Gram matrix over the pool: &lt;grad l_i, grad l_j&gt; for every i.</summary>
    public double[] GramColumn(int j, CancellationToken ct)
    {
        var view = problem.AtWeights(new[] { j }, new[] { 1.0 }, options.HessianBatchSize, unchecked((int)(seed * 31)));
        Tensor[] gj;
        using (var scope = NewDisposeScope())
        {
            gj = view.Gradient(view.PerExampleLosses(new long[] { j }).sum());
            ParameterVector.MoveToOuter(gj);
        }
        using var direction = new InfluenceDirection(new[] { new InfluenceTerm(null, gj) });
        return _scorer.Score(view, direction, ct);
    }
}
