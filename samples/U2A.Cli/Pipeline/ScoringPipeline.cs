using U2A.Core.Influence;
using U2A.Core.Optimization;
using U2A.Core.Unlearning;

namespace U2A.Cli.Pipeline;

/// <summary>The scoring step of U2A at the starting parameters, as <c>u2a score</c>, <c>prepare</c> and shards run it.</summary>
public static class ScoringPipeline
{
    /// <summary>The direction <c>v</c> at the current parameters and uniform weights over the whole pool: the same view (Hessian
    /// sample seed <c>Seed * 31</c>) as <see cref="BilevelOptimizer"/>'s iteration 0, so the scores equal a run's initial scores.</summary>
    public static InfluenceDirection Direction(UnlearningProblem problem, PipelineSettings settings, CancellationToken ct)
    {
        int n = problem.Pool.Count;
        var view = problem.AtWeights(Enumerable.Range(0, n).ToArray(), Enumerable.Repeat(1.0 / n, n).ToArray(),
            settings.HessianBatchSize, unchecked((int)(settings.Seed * 31)));
        return settings.CreateEstimator().Estimate(view, ct);
    }

    /// <summary>The problem's view used for scoring the whole pool (same as in <see cref="Direction"/>).</summary>
    public static BilevelProblem View(UnlearningProblem problem, PipelineSettings settings)
    {
        int n = problem.Pool.Count;
        return problem.AtWeights(Enumerable.Range(0, n).ToArray(), Enumerable.Repeat(1.0 / n, n).ToArray(),
            settings.HessianBatchSize, unchecked((int)(settings.Seed * 31)));
    }

    /// <summary>A scoring-only view of rows <paramref name="offset"/>.. of <paramref name="slice"/> (a shard): per-example losses of
    /// those rows; it has no inner loss or objective, which scoring against a given direction never evaluates.</summary>
    public static BilevelProblem SliceView(Session session, ForgetBatch slice, InnerObjective inner, int offset) =>
        new(session.Model.TrainableParameters,
            () => throw new InvalidOperationException("a shard view has no inner loss: it scores against a prepared direction."),
            () => throw new InvalidOperationException("a shard view has no objective: it scores against a prepared direction."),
            idx =>
            {
                using var batch = slice.Select(idx.Select(i => i + offset).ToArray());
                return inner.PerExampleLosses(session.Model, batch);
            },
            slice.Count - offset);

    /// <summary>Scores rows 0..count-1 of <paramref name="view"/> one chunk at a time (the chunks the scorer itself would make),
    /// reporting the number done after each chunk.</summary>
    public static double[] Score(BilevelProblem view, InfluenceDirection direction, InfluenceScorer scorer, int count,
        Action<int>? progress, CancellationToken ct)
    {
        var scores = new double[count];
        for (int start = 0; start < count; start += scorer.ChunkSize)
        {
            ct.ThrowIfCancellationRequested();
            int size = Math.Min(scorer.ChunkSize, count - start);
            var part = scorer.Score(view, direction, Enumerable.Range(start, size).Select(i => (long)i).ToArray(), ct);
            Array.Copy(part, 0, scores, start, size);
            progress?.Invoke(start + size);
        }
        if (scores.Any(s => !double.IsFinite(s))) throw new CliFailure("a non-finite influence score (check the model and the data).");
        return scores;
    }
}
