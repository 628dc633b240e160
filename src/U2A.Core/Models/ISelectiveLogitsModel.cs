using static TorchSharp.torch;

namespace U2A.Core.Models;

/// <summary>
/// A causal LM that can compute logits at chosen positions only: the body runs over every token (attention needs them
/// all), the output head only where asked. <see cref="ResponseLogProbs.Compute"/> uses it to skip the head, and the
/// log-softmax over the vocabulary, at prompt and padding positions, where no log-probability is needed.
/// </summary>
public interface ISelectiveLogitsModel : ICausalLM
{
    /// <summary>
    /// Logits [M, V] at the flat positions <c>b * T + t</c> listed in <paramref name="positions"/> (int64 [M], on the
    /// model's device) of the batch [B, T]: row m equals <c>Forward(inputIds, attentionMask)[b, t]</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The positions are not a 1-D int64 or int32 tensor on the ids' device (the
    /// library's models check this; an index outside 0..B*T-1 is refused by libtorch).</exception>
    Tensor ForwardAt(Tensor inputIds, Tensor attentionMask, Tensor positions);
}
