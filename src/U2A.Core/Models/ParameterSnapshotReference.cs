using U2A.Core.Data;
using static TorchSharp.torch;

namespace U2A.Core.Models;

/// <summary>
/// A reference policy that is the model at the trainable-parameter values it had when this object was made:
/// a frozen copy of the trainable parameters only (not of the whole module). To evaluate, it swaps the snapshot
/// in, runs the model without gradients, and swaps the current values back.
/// </summary>
public sealed class ParameterSnapshotReference : IReferencePolicy, IDisposable
{
    private readonly ICausalLM _model;
    private readonly Tensor[] _snapshot;

    /// <summary>Snapshots the model's trainable parameters now.</summary>
    public ParameterSnapshotReference(ICausalLM model)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        using var noGrad = no_grad();
        _snapshot = model.TrainableParameters.Select(p => p.clone().DetachFromDisposeScope()).ToArray();
    }

    /// <summary>The snapshot values, in <see cref="ICausalLM.TrainableParameters"/> order.</summary>
    public IReadOnlyList<Tensor> Values => _snapshot;

    /// <summary>Puts the snapshot values back into the model's trainable parameters (in place).</summary>
    public void Restore()
    {
        using var noGrad = no_grad();
        var parameters = _model.TrainableParameters;
        for (int i = 0; i < parameters.Count; i++) parameters[i].copy_(_snapshot[i]);
    }

    /// <inheritdoc />
    public SequenceLogProbs LogProbs(TokenBatch batch)
    {
        using var noGrad = no_grad();
        var parameters = _model.TrainableParameters;
        using var scope = NewDisposeScope();
        var current = parameters.Select(p => p.clone()).ToArray();
        try
        {
            for (int i = 0; i < parameters.Count; i++) parameters[i].copy_(_snapshot[i]);
            var lp = ResponseLogProbs.Compute(_model, batch).Detach();
            lp.Sum.MoveToOuterDisposeScope();
            lp.TokenCount.MoveToOuterDisposeScope();
            return lp;
        }
        finally
        {
            for (int i = 0; i < parameters.Count; i++) parameters[i].copy_(current[i]);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _snapshot) t.Dispose();
    }
}
