using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Core.Unlearning;

/// <summary>
/// The U2A reference code's inner regulariser: <c>R(theta) = lambda * sum_k ||theta_k - theta_0,k||^2 / K</c>, summed over the
/// model's <c>K</c> trainable parameter tensors, with <c>theta_0</c> their values when this term was constructed.
/// Its gradient is <c>2 lambda (theta_k - theta_0,k) / K</c>; it adds <c>2 lambda / K</c> to the Hessian's diagonal, which keeps the
/// inner problem strongly convex near <c>theta_0</c>.
/// </summary>
/// <remarks>Holds a copy of the trainable parameters; dispose it to free them.</remarks>
public sealed class ParameterRegularizer : IInnerTerm, IDisposable
{
    private readonly Tensor[] _start;

    /// <summary>Snapshots <paramref name="model"/>'s trainable parameters as <c>theta_0</c>.</summary>
    public ParameterRegularizer(ICausalLM model, ParameterRegularizerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Options = options ?? new ParameterRegularizerOptions();
        Options.Validate();
        if (model.TrainableParameters.Count == 0) throw new ArgumentException("the model has no trainable parameters.", nameof(model));
        using var noGrad = no_grad();
        _start = model.TrainableParameters.Select(p => p.clone().DetachFromDisposeScope()).ToArray();
    }

    /// <summary>The options.</summary>
    public ParameterRegularizerOptions Options { get; }

    /// <summary><c>theta_0</c>, in <see cref="ICausalLM.TrainableParameters"/> order.</summary>
    public IReadOnlyList<Tensor> Start => _start;

    /// <inheritdoc />
    public string Name => "ParameterRegularizer";

    /// <inheritdoc />
    public Tensor Value(ICausalLM model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var parameters = model.TrainableParameters;
        if (parameters.Count != _start.Length)
            throw new ArgumentException($"the model has {parameters.Count} trainable tensors but theta_0 has {_start.Length}.", nameof(model));
        using var scope = NewDisposeScope();
        Tensor total = zeros(Array.Empty<long>(), dtype: model.DType, device: model.Device);
        for (int k = 0; k < parameters.Count; k++)
        {
            if (!parameters[k].shape.SequenceEqual(_start[k].shape))
                throw new ArgumentException($"trainable tensor {k} has shape [{string.Join(", ", parameters[k].shape)}] but theta_0 has [{string.Join(", ", _start[k].shape)}].", nameof(model));
            total = total + (parameters[k] - _start[k]).pow(2).sum();
        }
        return (total * (Options.Lambda / _start.Length)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _start) t.Dispose();
    }
}
