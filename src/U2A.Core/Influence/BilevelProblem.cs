using TorchSharp;
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
    /// <summary>Creates the problem; validates that the parameters are leaf tensors that require gradients.</summary>
    /// <param name="parameters">theta: the trainable parameters, in a fixed order, updated in place.</param>
    /// <param name="innerLoss">L(theta; w) at the current parameters and current weights: a scalar with graph.</param>
    /// <param name="objective">J(theta) at the current parameters: a scalar with graph (lower is better).</param>
    /// <param name="perExampleLosses">l_i(theta) for the given candidate indices: a vector [n] with graph.</param>
    /// <param name="exampleCount">N, the number of candidates that <paramref name="perExampleLosses"/> accepts.</param>
    public BilevelProblem(IReadOnlyList<Tensor> parameters, Func<Tensor> innerLoss, Func<Tensor> objective,
        Func<IReadOnlyList<long>, Tensor> perExampleLosses, int exampleCount)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Count == 0) throw new ArgumentException("parameters must not be empty.", nameof(parameters));
        for (int i = 0; i < parameters.Count; i++)
            if (!parameters[i].requires_grad) throw new ArgumentException($"parameters[{i}] does not require grad.", nameof(parameters));
        ArgumentOutOfRangeException.ThrowIfLessThan(exampleCount, 1);
        _parameters = parameters.ToArray();
        InnerLoss = innerLoss ?? throw new ArgumentNullException(nameof(innerLoss));
        Objective = objective ?? throw new ArgumentNullException(nameof(objective));
        PerExampleLosses = perExampleLosses ?? throw new ArgumentNullException(nameof(perExampleLosses));
        ExampleCount = exampleCount;
    }

    /// <summary>theta, in order.</summary>
    public IReadOnlyList<Tensor> Parameters => _parameters;

    private readonly Tensor[] _parameters;

    /// <summary>L(theta; w), scalar.</summary>
    public Func<Tensor> InnerLoss { get; }

    /// <summary>J(theta), scalar.</summary>
    public Func<Tensor> Objective { get; }

    /// <summary>l_i(theta) for a list of candidate indices, vector.</summary>
    public Func<IReadOnlyList<long>, Tensor> PerExampleLosses { get; }

    /// <summary>N.</summary>
    public int ExampleCount { get; }

    /// <summary>The gradient of a scalar with respect to <see cref="Parameters"/>; an unused parameter gets zeros.</summary>
    internal Tensor[] Gradient(Tensor scalar, bool createGraph = false)
    {
        var grads = autograd.grad(new[] { scalar }, _parameters, retain_graph: createGraph, create_graph: createGraph, allow_unused: true);
        var result = new Tensor[Parameters.Count];
        for (int i = 0; i < result.Length; i++)
            result[i] = grads[i] is null || grads[i].IsInvalid ? zeros_like(Parameters[i]) : grads[i];
        return result;
    }

    /// <summary>grad J at the current parameters (no graph).</summary>
    public Tensor[] ObjectiveGradient()
    {
        using var scope = NewDisposeScope();
        var j = Objective();
        var g = Gradient(j);
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
        var loss = InnerLoss();
        var g = Gradient(loss, createGraph: true);
        var gv = ParameterVector.DotTensor(g, v);
        var hv = gv.requires_grad ? Gradient(gv) : ParameterVector.ZerosLike(Parameters);
        var result = hv.Select(t => t.detach()).ToArray();
        ParameterVector.MoveToOuter(result);
        return result;
    }
}
