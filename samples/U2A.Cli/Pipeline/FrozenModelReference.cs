using U2A.Core.Data;
using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Cli.Pipeline;

/// <summary>pi_ref as a separate, frozen model (eval --reference DIR): its response log-probs without gradients.</summary>
public sealed class FrozenModelReference(ICausalLM model) : IReferencePolicy
{
    /// <inheritdoc />
    public SequenceLogProbs LogProbs(TokenBatch batch)
    {
        using var noGrad = no_grad();
        return ResponseLogProbs.Compute(model, batch).Detach();
    }
}
