using static TorchSharp.torch;

namespace U2A.Core.Models.Generation;

/// <summary>A causal LM whose forward can reuse and extend a <see cref="KvCache"/> (incremental decoding).</summary>
public interface ICachedCausalLM : ICausalLM
{
    /// <summary>Number of attention layers (the size of a <see cref="KvCache"/> for this model).</summary>
    int LayerCount { get; }

    /// <summary>
    /// Logits [B, T, V] for the new tokens <paramref name="inputIds"/> [B, T]. <paramref name="attentionMask"/> has shape
    /// [B, S + T] and covers the S positions already in <paramref name="cache"/> followed by the new ones; the new keys and
    /// values are appended to the cache. With a null cache this is <see cref="ICausalLM.Forward"/>.
    /// </summary>
    Tensor Forward(Tensor inputIds, Tensor attentionMask, KvCache? cache);
}
