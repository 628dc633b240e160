using U2A.Core.Data;
using static TorchSharp.torch;

namespace U2A.Core.Models.Lora;

/// <summary>
/// The reference policy of a LoRA model: the same model with its adapters switched off, evaluated without gradients.
/// No second copy of the weights is kept (as TRL does for PEFT models).
/// </summary>
/// <remarks>The adapters must not be merged while this policy is used (disabling merged adapters throws).</remarks>
public sealed class LoraReferencePolicy : IReferencePolicy
{
    private readonly LoraModel _model;

    /// <summary>Creates the policy for <paramref name="model"/>.</summary>
    public LoraReferencePolicy(LoraModel model) => _model = model ?? throw new ArgumentNullException(nameof(model));

    /// <inheritdoc />
    public SequenceLogProbs LogProbs(TokenBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        using var noGrad = no_grad();
        using var off = _model.DisableAdapters();
        using var scope = NewDisposeScope();
        var lp = ResponseLogProbs.Compute(_model, batch).Detach();
        lp.Sum.MoveToOuterDisposeScope();
        lp.TokenCount.MoveToOuterDisposeScope();
        return lp;
    }
}
