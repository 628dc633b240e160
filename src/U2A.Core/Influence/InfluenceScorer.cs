using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
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
    /// <param name="lengthBucketing">Cut chunks from the candidates sorted by length (<see cref="BilevelProblem.ExampleLengths"/>,
    /// when the problem gives them), longest first, so that each batched pass holds sequences of similar length and little
    /// padding; the scores come back in the order asked for and do not depend on it beyond rounding.</param>
    public InfluenceScorer(ScoringMethod method = ScoringMethod.BatchedExact, int chunkSize = 32, double finiteDifferenceStep = 1e-2, bool lengthBucketing = true)
    {
        Require.AtLeastOne(chunkSize, "InfluenceScorer.chunkSize");
        Require.Positive(finiteDifferenceStep, "InfluenceScorer.finiteDifferenceStep");
        if (!Enum.IsDefined(method)) throw new ArgumentOutOfRangeException(nameof(method), method, "unknown scoring method.");
        Method = method; ChunkSize = chunkSize; FiniteDifferenceStep = finiteDifferenceStep; LengthBucketing = lengthBucketing;
    }

    /// <summary>
    /// A scorer that picks its chunk size from a memory budget: on its first call it measures the tensors one example's
    /// scoring pass holds (forward, and for <see cref="ScoringMethod.BatchedExact"/> the backward graph with its
    /// double-backward inputs) and takes <c>chunk = budget / (1.5 x that)</c>, at least 1 and at most
    /// <paramref name="maxChunkSize"/>, then logs what it chose. The measurement counts the tensors the pass creates
    /// (activations, logits, gradients), not the allocator's overhead or the model's weights; the 1.5 factor covers
    /// longer examples than the probed one and the allocator. The chunk size does not change any score.
    /// </summary>
    /// <param name="method">The scoring method.</param>
    /// <param name="memoryBudgetBytes">Memory one batched pass may hold, in bytes; at least 1 MiB.</param>
    /// <param name="maxChunkSize">The largest chunk (larger chunks stop paying on CPU around 32); at least 1.</param>
    /// <param name="finiteDifferenceStep">As in the other constructor.</param>
    /// <param name="logger">Receives the chosen chunk size and the measurement behind it.</param>
    /// <param name="lengthBucketing">As in the other constructor. With it the probed example is the longest one scored.</param>
    public static InfluenceScorer WithMemoryBudget(ScoringMethod method, long memoryBudgetBytes, int maxChunkSize = 32,
        double finiteDifferenceStep = 1e-2, ILogger? logger = null, bool lengthBucketing = true)
    {
        Require.That(memoryBudgetBytes >= 1L << 20, "InfluenceScorer.memoryBudgetBytes", memoryBudgetBytes, "must be at least 1 MiB (1048576 bytes)");
        return new InfluenceScorer(method, maxChunkSize, finiteDifferenceStep, lengthBucketing) { _memoryBudget = memoryBudgetBytes, _logger = logger ?? NullLogger.Instance };
    }

    private long? _memoryBudget;
    private ILogger _logger = NullLogger.Instance;
    private int? _budgetedChunk;
    private readonly object _probeLock = new();

    /// <summary>The method.</summary>
    public ScoringMethod Method { get; }
    /// <summary>Candidates per batched pass: the fixed size, or with a memory budget the largest size allowed (the size in use is
    /// <see cref="ChosenChunkSize"/>).</summary>
    public int ChunkSize { get; }
    /// <summary>The chunk size the scorer uses: <see cref="ChunkSize"/>, or with a memory budget the size it chose on its first call (null before it).</summary>
    public int? ChosenChunkSize => _memoryBudget is null ? ChunkSize : _budgetedChunk;
    /// <summary>The memory budget in bytes, or null for a fixed chunk size.</summary>
    public long? MemoryBudgetBytes => _memoryBudget;
    /// <summary>Finite-difference step length in parameter space.</summary>
    public double FiniteDifferenceStep { get; }

    /// <summary>Whether chunks are cut from the candidates sorted by length (see the constructor).</summary>
    public bool LengthBucketing { get; }

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
        // Length buckets: score in order of decreasing length, then put each score back at its candidate's position.
        var order = Enumerable.Range(0, indices.Count).ToArray();
        if (LengthBucketing && problem.ExampleLengths is { } lengths && Method != ScoringMethod.PerExampleLoop)
            order = order.OrderByDescending(k => lengths[(int)indices[k]]).ToArray(); // stable: ties keep the order asked for
        var ordered = order.Select(k => indices[k]).ToArray();
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
                    ScoringMethod.PerExampleLoop => Loop(problem, term.Direction, ordered, cancellationToken),
                    ScoringMethod.BatchedExact => DoubleVjp(problem, term.Direction, ordered, cancellationToken),
                    _ => FiniteDifferences(problem, term.Direction, ordered, cancellationToken),
                };
                for (int k = 0; k < scores.Length; k++) scores[order[k]] += part[k];
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
        int size = ChunkFor(problem, v, indices, ct);
        for (int start = 0; start < indices.Count; start += size)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var chunk = Slice(indices, start, size);
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
            int size = ChunkFor(problem, v, indices, ct);
            ParameterVector.AddInPlace(parameters, v, eps);
            var plus = Evaluate(problem, indices, size, ct);
            ParameterVector.CopyInto(parameters, origin);
            ParameterVector.AddInPlace(parameters, v, -eps);
            var minus = Evaluate(problem, indices, size, ct);
            return plus.Select((p, i) => (p - minus[i]) / (2 * eps)).ToArray();
        }
        finally
        {
            ParameterVector.CopyInto(parameters, origin);
            ParameterVector.DisposeAll(origin);
        }
    }

    private static double[] Evaluate(BilevelProblem problem, IReadOnlyList<long> indices, int size, CancellationToken ct)
    {
        var values = new double[indices.Count];
        // Forward-only: the problem's scope (a LoRA model merges its adapters once here, for these parameter values) and
        // no gradient recording in any case, so the models use the fused attention kernel.
        using var forwardOnly = problem.ForwardOnly?.Invoke();
        using var noGrad = no_grad();
        for (int start = 0; start < indices.Count; start += size)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var chunk = Slice(indices, start, size);
            var l = problem.PerExampleValues(chunk).to_type(ScalarType.Float64).cpu().data<double>().ToArray();
            Array.Copy(l, 0, values, start, chunk.Length);
        }
        return values;
    }

    /// <summary>The chunk size: fixed, or chosen once from the memory budget by measuring one example's pass.</summary>
    private int ChunkFor(BilevelProblem problem, IReadOnlyList<Tensor> v, IReadOnlyList<long> indices, CancellationToken ct)
    {
        if (_memoryBudget is not { } budget) return ChunkSize;
        lock (_probeLock)
        {
            if (_budgetedChunk is { } known) return known;
            if (indices.Count == 0) return ChunkSize;
            ct.ThrowIfCancellationRequested();
            long perExample = ProbeBytes(problem, v, indices[0]);
            long chunk = perExample <= 0 ? ChunkSize : Math.Clamp((long)(budget / (1.5 * perExample)), 1, ChunkSize);
            _budgetedChunk = (int)chunk;
            _logger.LogInformation("Influence scoring ({Method}): one example's pass holds {PerExample:F2} MiB of tensors; memory budget {Budget:F0} MiB " +
                "-> chunk size {Chunk} (at most {Max})", Method, perExample / 1048576.0, budget / 1048576.0, _budgetedChunk, ChunkSize);
            return _budgetedChunk.Value;
        }
    }

    /// <summary>Bytes of the tensors one example's scoring pass creates (all alive at its end, as in a chunk's pass).</summary>
    private long ProbeBytes(BilevelProblem problem, IReadOnlyList<Tensor> v, long index)
    {
        using var scope = NewDisposeScope();
        if (Method == ScoringMethod.FiniteDifference)
        {
            using var forwardOnly = problem.ForwardOnly?.Invoke();
            using var noGrad = no_grad();
            _ = problem.PerExampleValues(new[] { index });
        }
        else
        {
            var losses = problem.PerExampleValues(new[] { index });
            GradientGuard.CheckOutput(losses.sum(), BilevelProblem.PerExampleName, "Compute it with tensor operations from the model's forward at the current parameters.");
            var u = zeros(losses.shape, dtype: losses.dtype, device: losses.device).requires_grad_();
            var g = problem.Gradient((losses * u).sum(), BilevelProblem.PerExampleName, createGraph: true);
            _ = ParameterVector.DotTensor(g, v);
        }
        long bytes = 0;
        foreach (var d in scope.DisposablesView)
            if (d is Tensor t && !t.IsInvalid) bytes += t.NumberOfElements * t.ElementSize;
        return bytes;
    }

    private static long[] Slice(IReadOnlyList<long> indices, int start, int size) =>
        Enumerable.Range(start, Math.Min(size, indices.Count - start)).Select(i => indices[i]).ToArray();
}
