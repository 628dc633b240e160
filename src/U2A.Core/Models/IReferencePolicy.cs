using U2A.Core.Data;

namespace U2A.Core.Models;

/// <summary>
/// The reference policy <c>pi_ref</c> (the starting model): with LoRA, the same model with its adapters switched
/// off; otherwise a frozen copy of the starting weights. Its log-probs carry no autograd graph.
/// </summary>
public interface IReferencePolicy
{
    /// <summary>Response log-probabilities of the reference policy for a batch, without gradients.</summary>
    SequenceLogProbs LogProbs(TokenBatch batch);
}
