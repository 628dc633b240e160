using static TorchSharp.torch;

namespace U2A.Core.Influence;

/// <summary>
/// Scores all N candidates of a <see cref="BilevelProblem"/> against an <see cref="InfluenceDirection"/>,
/// in chunks so that memory depends on the chunk size, not on N. Parameters are left exactly as found.
/// </summary>
public sealed class InfluenceScorer
{
    /// <summary>Creates a scorer.</summary>
    /// <param name="method">The scoring method.</param>
    /// <param name="chunkSize">Candidates per batched pass; at least 1.</param>
    /// <param name="finiteDifferenceStep">For <see cref="ScoringMethod.FiniteDifference"/>: the parameter-space step length <c>eps * ||v||</c>; positive.</param>
    public InfluenceScorer(ScoringMethod method = ScoringMethod.BatchedExact, int chunkSize = 32, double finiteDifferenceStep = 1e-2)
    {
        Require.AtLeastOne(chunkSize, "InfluenceScorer.chunkSize");
        Require.Positive(finiteDifferenceStep, "InfluenceScorer.finiteDifferenceStep");
        if (!Enum.IsDefined(method)) throw new ArgumentOutOfRangeException(nameof(method), method, "unknown scoring method.");
        Method = method; ChunkSize = chunkSize; FiniteDifferenceStep = finiteDifferenceStep;
    }

    /// <summary>The method.</summary>
    public ScoringMethod Method { get; }
    /// <summary>Candidates per batched pass.</summary>
    public int ChunkSize { get; }
    /// <summary>Finite-difference step length in parameter space.</summary>
    public double FiniteDifferenceStep { get; }

    /// <summary>Scores every candidate 0..N-1.</summary>
    /// <exception cref="ArgumentException">The direction does not match the problem's parameters.</exception>
    /// <exception cref="InvalidOperationException">A per-example loss is not a floating-point vector with one loss per candidate, or
    /// (exact methods) has no autograd graph to the parameters; the message names the cause.</exception>
    public double[] Score(BilevelProblem problem, InfluenceDirection direction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(problem);
        return Score(problem, direction, Enumerable.Range(0, problem.ExampleCount).Select(i => (long)i).ToArray(), cancellationToken);
    }

    /// <summary>Scores the candidates at <paramref name="indices"/>, in that order.</summary>
    /// <exception cref="ArgumentException">An index is outside 0..N-1, or the direction does not match the problem's parameters.</exception>
    /// <exception cref="InvalidOperationException">A per-example loss is not a floating-point vector with one loss per candidate, or
    /// (exact methods) has no autograd graph to the parameters; the message names the cause.</exception>
    public double[] Score(BilevelProblem problem, InfluenceDirection direction, IReadOnlyList<long> indices, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(direction);
        ArgumentNullException.ThrowIfNull(indices);
        for (int i = 0; i < indices.Count; i++)
            if (indices[i] < 0 || indices[i] >= problem.ExampleCount)
                throw new ArgumentOutOfRangeException(nameof(indices), indices[i], $"indices[{i}] = {indices[i]} is outside the {problem.ExampleCount} candidates of the problem.");
        for (int t = 0; t < direction.Terms.Count; t++)
        {
            problem.CheckShapes(direction.Terms[t].Direction, $"direction.Terms[{t}].Direction");
            if (direction.Terms[t].Point is { } point) problem.CheckShapes(point, $"direction.Terms[{t}].Point");
        }
        var scores = new double[indices.Count];
        var parameters = problem.Parameters;
        var current = ParameterVector.Clone(parameters);
        try
        {
            foreach (var term in direction.Terms)
            {
                if (term.Point is not null) ParameterVector.CopyInto(parameters, term.Point);
                var part = Method switch
                {
                    ScoringMethod.PerExampleLoop => Loop(problem, term.Direction, indices, cancellationToken),
                    ScoringMethod.BatchedExact => DoubleVjp(problem, term.Direction, indices, cancellationToken),
                    _ => FiniteDifferences(problem, term.Direction, indices, cancellationToken),
                };
                for (int i = 0; i < scores.Length; i++) scores[i] += part[i];
                if (term.Point is not null) ParameterVector.CopyInto(parameters, current);
            }
        }
        finally
        {
            ParameterVector.CopyInto(parameters, current);
            ParameterVector.DisposeAll(current);
        }
        return scores;
    }

    private static double[] Loop(BilevelProblem problem, IReadOnlyList<Tensor> v, IReadOnlyList<long> indices, CancellationToken ct)
    {
        var s = new double[indices.Count];
        for (int i = 0; i < indices.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var loss = problem.PerExampleValues(new[] { indices[i] });
            s[i] = ParameterVector.Dot(problem.Gradient(loss.sum(), BilevelProblem.PerExampleName), v);
        }
        return s;
    }

    private double[] DoubleVjp(BilevelProblem problem, IReadOnlyList<Tensor> v, IReadOnlyList<long> indices, CancellationToken ct)
    {
        var s = new double[indices.Count];
        for (int start = 0; start < indices.Count; start += ChunkSize)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var chunk = Slice(indices, start, ChunkSize);
            var losses = problem.PerExampleValues(chunk);
            // The dummy u always has a graph: check the losses themselves, or a detached loss would pass as "unused".
            GradientGuard.CheckOutput(losses.sum(), BilevelProblem.PerExampleName, "Compute it with tensor operations from the model's forward at the current parameters.");
            var u = zeros(losses.shape, dtype: losses.dtype, device: losses.device).requires_grad_();
            var g = problem.Gradient((losses * u).sum(), BilevelProblem.PerExampleName, createGraph: true);
            var gv = ParameterVector.DotTensor(g, v);
            // Defensive: g is linear in u, so g . v has a graph through u; were it ever without one, the scores would be 0 (and
            // autograd.grad would abort the process), so that case gives zeros.
            var su = gv.requires_grad ? GradientGuard.Grad(gv, new[] { u }, "the batched directional derivative g(u) . v", "", unusedIsError: false)[0] : null;
            var values = su is null ? new double[chunk.Length] : su.to_type(ScalarType.Float64).cpu().data<double>().ToArray();
            Array.Copy(values, 0, s, start, chunk.Length);
        }
        return s;
    }

    private double[] FiniteDifferences(BilevelProblem problem, IReadOnlyList<Tensor> v, IReadOnlyList<long> indices, CancellationToken ct)
    {
        var parameters = problem.Parameters;
        var origin = ParameterVector.Clone(parameters);
        try
        {
            double vNorm = ParameterVector.Norm(v);
            if (vNorm == 0) return new double[indices.Count];
            double eps = FiniteDifferenceStep / vNorm;
            ParameterVector.AddInPlace(parameters, v, eps);
            var plus = Evaluate(problem, indices, ct);
            ParameterVector.CopyInto(parameters, origin);
            ParameterVector.AddInPlace(parameters, v, -eps);
            var minus = Evaluate(problem, indices, ct);
            return plus.Select((p, i) => (p - minus[i]) / (2 * eps)).ToArray();
        }
        finally
        {
            ParameterVector.CopyInto(parameters, origin);
            ParameterVector.DisposeAll(origin);
        }
    }

    private double[] Evaluate(BilevelProblem problem, IReadOnlyList<long> indices, CancellationToken ct)
    {
        var values = new double[indices.Count];
        using var noGrad = no_grad();
        for (int start = 0; start < indices.Count; start += ChunkSize)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var chunk = Slice(indices, start, ChunkSize);
            var l = problem.PerExampleValues(chunk).to_type(ScalarType.Float64).cpu().data<double>().ToArray();
            Array.Copy(l, 0, values, start, chunk.Length);
        }
        return values;
    }

    private static long[] Slice(IReadOnlyList<long> indices, int start, int size) =>
        Enumerable.Range(start, Math.Min(size, indices.Count - start)).Select(i => indices[i]).ToArray();
}
