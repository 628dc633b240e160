using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Core.Unlearning;

/// <summary>
/// An unlearning strategy: a per-example loss <c>l_i</c> on negative examples, computed from response
/// log-probabilities. Minimising <c>sum_i w_i l_i</c> unlearns the examples with weights <c>w</c>.
/// </summary>
/// <remarks>
/// A strategy returns a vector (one loss per example) and never reduces it to a batch mean, so that any weights
/// can multiply it. A strategy states its loss and nothing else: retain terms and parameter regularisers are separate
/// <see cref="IInnerTerm"/>s that an <see cref="InnerObjective"/> composes with it (GradDiff is GradAscent plus a retain term,
/// <see cref="GradDiff.WithRetainNll"/>).
/// </remarks>
public interface IUnlearner
{
    /// <summary>Short name for logs and reports (for example "GradAscent", "NPO").</summary>
    string Name { get; }

    /// <summary>Whether <see cref="PerExampleLoss"/> needs the reference policy's log-probs.</summary>
    bool NeedsReference { get; }

    /// <summary>Per-example losses [B] from the policy's response log-probs (and the reference's, when <see cref="NeedsReference"/>).</summary>
    Tensor PerExampleLoss(SequenceLogProbs policy, SequenceLogProbs? reference);
}
