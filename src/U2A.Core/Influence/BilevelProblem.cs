using static TorchSharp.torch;

namespace U2A.Core.Influence;

/// <summary>
/// The bi-level problem at the current parameters, seen by the influence machinery:
/// <code>
/// inner:  theta*(w) = argmin_theta  L(theta; w) = sum_i w_i l_i(theta) + R(theta)
/// outer:  min_w J(theta*(w))
/// </code>
/// Everything is a closure over parameters that are updated in place, so any model (a causal LM, or a ridge
/// regression in a test) can be plugged in.
/// </summary>
public sealed class BilevelProblem
{
    /// <summary>Creates the problem; validates that the parameters are distinct tensors that require gradients.</summary>
    /// <param name="parameters">theta: the trainable parameters, in a fixed order, updated in place (borrowed: they stay the caller's).</param>
    /// <param name="innerLoss">L(theta; w) at the current parameters and current weights: a scalar with graph.</param>
    /// <param name="objective">J(theta) at the current parameters: a scalar with graph (lower is better).</param>
    /// <param name="perExampleLosses">l_i(theta) for the given candidate indices: a vector [n] with graph.</param>
    /// <param name="exampleCount">N, the number of candidates that <paramref name="perExampleLosses"/> accepts.</param>
    /// <param name="objectiveName">The name of J's source for error messages (an <c>IAlignmentScorer</c>'s Name, say), or null.</param>
    /// <remarks>
    /// The closures are called fresh for every gradient: each call must compute its tensor anew at the current parameters.
    /// Every gradient is checked before it is taken (see <see cref="Gradient(Tensor, string, bool)"/>): an output without
    /// an autograd graph, not a scalar, or depending on none of the parameters throws <see cref="InvalidOperationException"/>
    /// instead of reaching <c>torch.autograd.grad</c>, where TorchSharp would abort the process.
    /// </remarks>
    /// <exception cref="ArgumentException">A parameter is null, disposed, not floating point, listed twice, or does not require grad.</exception>
    public BilevelProblem(IReadOnlyList<Tensor> parameters, Func<Tensor> innerLoss, Func<Tensor> objective,
        Func<IReadOnlyList<long>, Tensor> perExampleLosses, int exampleCount, string? objectiveName = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Count == 0)
            throw new ArgumentException("parameters must not be empty: there is nothing to differentiate (a model whose TrainableParameters is empty, or a LoraModel with no adapters?).", nameof(parameters));
        var seen = new HashSet<IntPtr>();
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i];
            if (p is null || p.IsInvalid) throw new ArgumentException($"parameters[{i}] is null or disposed.", nameof(parameters));
            if (!p.is_floating_point()) throw new ArgumentException($"parameters[{i}] is {p.dtype}; only floating-point tensors have gradients.", nameof(parameters));
            if (!p.requires_grad)
                throw new ArgumentException($"parameters[{i}] {GradientGuard.Shape(p)} does not require grad (it is frozen): set requires_grad = true on it, " +
                    "or leave it out of the trainable parameters.", nameof(parameters));
            if (!seen.Add(p.Handle)) throw new ArgumentException($"parameters[{i}] is listed twice.", nameof(parameters));
        }
        Require.AtLeastOne(exampleCount, "BilevelProblem.exampleCount");
        _parameters = parameters.ToArray();
        InnerLoss = innerLoss ?? throw new ArgumentNullException(nameof(innerLoss));
        Objective = objective ?? throw new ArgumentNullException(nameof(objective));
        PerExampleLosses = perExampleLosses ?? throw new ArgumentNullException(nameof(perExampleLosses));
        ExampleCount = exampleCount;
        _objectiveName = objectiveName is null ? ObjectiveName : $"the alignment objective J of '{objectiveName}' (BilevelProblem.Objective)";
    }

    /// <summary>
    /// The length of each candidate 0..N-1 in the batches <see cref="PerExampleLosses"/> forms (for token sequences, the
    /// span from first to last real token), or null when unknown. <see cref="InfluenceScorer"/> uses it to cut chunks of
    /// candidates of similar length, so that little of each batched pass is padding; the scores do not depend on it.
    /// </summary>
    /// <exception cref="ArgumentException">Set with a count other than <see cref="ExampleCount"/>, or a negative length.</exception>
    public IReadOnlyList<long>? ExampleLengths
    {
        get => _exampleLengths;
        init
        {
            if (value is not null)
            {
                if (value.Count != ExampleCount)
                    throw new ArgumentException($"BilevelProblem.ExampleLengths has {value.Count} entries but the problem has {ExampleCount} candidates.", nameof(ExampleLengths));
                for (int i = 0; i < value.Count; i++)
                    if (value[i] < 0) throw new ArgumentException($"BilevelProblem.ExampleLengths[{i}] = {value[i]} is negative.", nameof(ExampleLengths));
                value = value.ToArray();
            }
            _exampleLengths = value;
        }
    }

    private readonly IReadOnlyList<long>? _exampleLengths;

    /// <summary>
    /// Opens the scope that forward-only passes over the per-example losses run in (finite-difference scoring), or null
    /// for plain gradient-free passes. The scope must turn gradient recording off and may prepare the model for fast
    /// forwards; <see cref="Optimization.UnlearningProblem.AtWeights"/> sets <see cref="Models.Lora.LoraModel.ForwardOnly"/>
    /// for a LoRA model (adapters merged once per scope). A scope is opened after each change of the parameters.
    /// </summary>
    public Func<IDisposable>? ForwardOnly { get; init; }

    /// <summary>theta, in order.</summary>
    public IReadOnlyList<Tensor> Parameters => _parameters;

    private readonly Tensor[] _parameters;
    private readonly string _objectiveName;

    /// <summary>L(theta; w), scalar.</summary>
    public Func<Tensor> InnerLoss { get; }

    /// <summary>J(theta), scalar.</summary>
    public Func<Tensor> Objective { get; }

    /// <summary>l_i(theta) for a list of candidate indices, vector.</summary>
    public Func<IReadOnlyList<long>, Tensor> PerExampleLosses { get; }

    /// <summary>N.</summary>
    public int ExampleCount { get; }

    /// <summary>How the objective J is named in messages.</summary>
    internal const string ObjectiveName = "the alignment objective J (BilevelProblem.Objective: IAlignmentScorer.Objective in BilevelOptimizer)";

    /// <summary>How the inner loss L is named in messages.</summary>
    internal const string InnerLossName = "the inner loss L (BilevelProblem.InnerLoss: InnerObjective.Value in BilevelOptimizer)";

    /// <summary>How a per-example loss is named in messages.</summary>
    internal const string PerExampleName = "a per-example loss l_i (BilevelProblem.PerExampleLosses: IUnlearner.PerExampleLoss in BilevelOptimizer)";

    private const string ComputeFresh = "Compute it with tensor operations from the model's forward at the current parameters, on every call.";

    // The tensors the closures returned last (weakly held): a closure that hands back the same tensor twice is a cache whose graph
    // the first gradient freed, and a second gradient through it would abort the process.
    private readonly WeakReference<Tensor>?[] _lastReturned = new WeakReference<Tensor>?[2];

    /// <summary>The gradient of a scalar with respect to <see cref="Parameters"/>; an unused parameter gets zeros.</summary>
    /// <exception cref="InvalidOperationException">The scalar cannot be differentiated (see <see cref="GradientGuard"/>).</exception>
    internal Tensor[] Gradient(Tensor scalar, bool createGraph = false) =>
        Gradient(scalar, "the differentiated scalar (a loss or objective of the bi-level problem)", createGraph);

    /// <summary>The gradient of the scalar <paramref name="what"/> names, after the guard's checks.</summary>
    internal Tensor[] Gradient(Tensor scalar, string what, bool createGraph = false) =>
        GradientGuard.Grad(scalar, _parameters, what, ComputeFresh, createGraph);

    /// <summary>J at the current parameters, checked not to be the tensor the closure returned last time.</summary>
    internal Tensor ObjectiveValue() => Fresh(Objective(), 0, _objectiveName);

    /// <summary>L at the current parameters, checked not to be the tensor the closure returned last time.</summary>
    internal Tensor InnerLossValue() => Fresh(InnerLoss(), 1, InnerLossName);

    /// <summary>l_i for <paramref name="indices"/>, checked to be a floating-point vector with one loss per index.</summary>
    internal Tensor PerExampleValues(IReadOnlyList<long> indices)
    {
        var losses = PerExampleLosses(indices);
        if (losses is null) throw new InvalidOperationException($"{PerExampleName} is null for {indices.Count} candidate(s).");
        if (losses.dim() != 1 || losses.shape[0] != indices.Count)
            throw new InvalidOperationException($"{PerExampleName} has shape {GradientGuard.Shape(losses)} for {indices.Count} candidate(s); it must be a vector " +
                $"[{indices.Count}], one loss per candidate (not reduced to a mean or a sum).");
        if (!losses.is_floating_point())
            throw new InvalidOperationException($"{PerExampleName} is {losses.dtype}; it must be floating point to be differentiated.");
        return losses;
    }

    private Tensor Fresh(Tensor value, int slot, string what)
    {
        if (value is not null && _lastReturned[slot] is { } last && last.TryGetTarget(out var previous) && ReferenceEquals(previous, value) && !value.IsInvalid && value.requires_grad)
            throw new InvalidOperationException($"{what} returned the same tensor object as on its previous call: a cached tensor, whose autograd graph " +
                $"the previous gradient freed. {ComputeFresh}");
        if (value is not null) _lastReturned[slot] = new WeakReference<Tensor>(value);
        return value!;
    }

    /// <summary>grad J at the current parameters (no graph).</summary>
    public Tensor[] ObjectiveGradient()
    {
        using var scope = NewDisposeScope();
        var j = ObjectiveValue();
        var g = Gradient(j, _objectiveName);
        ParameterVector.MoveToOuter(g);
        return g;
    }

    /// <summary>
    /// The Hessian of the inner objective times <paramref name="v"/> at the current parameters, by double backward:
    /// <c>H v = d/d theta (grad L(theta) . v)</c>.
    /// </summary>
    public Tensor[] InnerHessianVectorProduct(IReadOnlyList<Tensor> v)
    {
        using var scope = NewDisposeScope();
        CheckShapes(v, "v");
        var loss = InnerLossValue();
        var g = Gradient(loss, InnerLossName, createGraph: true);
        var gv = ParameterVector.DotTensor(g, v);
        // grad L . v has no graph, or depends on no parameter, when L is linear in theta: then H v = 0.
        var hv = gv.requires_grad
            ? GradientGuard.Grad(gv, _parameters, "grad L . v (the Hessian-vector product)", ComputeFresh, unusedIsError: false)
            : ParameterVector.ZerosLike(Parameters);
        var result = hv.Select(t => t.detach()).ToArray();
        ParameterVector.MoveToOuter(result);
        return result;
    }

    /// <summary>Throws unless <paramref name="vector"/> has one tensor per parameter, each of its shape.</summary>
    internal void CheckShapes(IReadOnlyList<Tensor> vector, string name)
    {
        ArgumentNullException.ThrowIfNull(vector, name);
        if (vector.Count != _parameters.Length)
            throw new ArgumentException($"{name} has {vector.Count} tensors but the problem has {_parameters.Length} parameters.", name);
        for (int i = 0; i < vector.Count; i++)
        {
            if (vector[i] is null || vector[i].IsInvalid) throw new ArgumentException($"{name}[{i}] is null or disposed.", name);
            if (!vector[i].shape.SequenceEqual(_parameters[i].shape))
                throw new ArgumentException($"{name}[{i}] has shape {GradientGuard.Shape(vector[i])} but parameter {i} has {GradientGuard.Shape(_parameters[i])}.", name);
        }
    }
}
