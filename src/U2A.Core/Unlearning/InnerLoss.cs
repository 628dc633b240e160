using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Core.Unlearning;

/// <summary>The parts of one evaluation of the inner objective.</summary>
/// <param name="Total">The scaled weighted forget sum plus the terms.</param>
/// <param name="WeightedForget"><c>sum_i w_i l_i</c> over the batch (unscaled).</param>
/// <param name="Weights">The batch's weights in the losses' dtype.</param>
/// <param name="Policy">The policy's response log-probs the losses came from.</param>
internal readonly record struct InnerLoss(Tensor Total, Tensor WeightedForget, Tensor Weights, SequenceLogProbs Policy);
