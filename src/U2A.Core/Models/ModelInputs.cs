using U2A.Core.Data;
using U2A.Core.Models.Generation;
using static TorchSharp.torch;

namespace U2A.Core.Models;

/// <summary>The argument checks every causal LM's forward shares.</summary>
internal static class ModelInputs
{
    /// <summary>Checks the positions of <see cref="ISelectiveLogitsModel.ForwardAt"/>: a 1-D int64 or int32 tensor on the ids'
    /// device. Their range, 0 to B * T - 1, is not checked here (that would need a device sync): libtorch refuses an index
    /// out of range with an exception on the CPU.</summary>
    public static void CheckPositions(Tensor inputIds, Tensor positions)
    {
        ArgumentNullException.ThrowIfNull(positions);
        if (positions.dim() != 1 || positions.dtype is not (ScalarType.Int64 or ScalarType.Int32))
            throw new ArgumentException($"positions must be a 1-D int64 or int32 tensor of flat indices b * T + t, got {positions.dtype} [{string.Join(", ", positions.shape)}].", nameof(positions));
        if (positions.device_type != inputIds.device_type || positions.device_index != inputIds.device_index)
            throw new ArgumentException($"positions are on {positions.device} but inputIds on {inputIds.device}.", nameof(positions));
    }

    /// <summary>
    /// Token ids [B, T] with an attention mask [B, past + T], where past is the cached length, and a cache made for
    /// <paramref name="layers"/> layers.
    /// </summary>
    public static void Check(Tensor inputIds, Tensor attentionMask, KvCache? cache, int layers)
    {
        long past = cache?.Length ?? 0;
        if (inputIds.dim() != 2 || attentionMask.dim() != 2 || attentionMask.shape[0] != inputIds.shape[0] || attentionMask.shape[1] != past + inputIds.shape[1])
            throw new ArgumentException($"expected inputIds [B, T] and attentionMask [B, {past} + T] (cache holds {past}), got [{string.Join(", ", inputIds.shape)}] and [{string.Join(", ", attentionMask.shape)}].");
        if (cache is not null && cache.Layers != layers) throw new ArgumentException($"the cache has {cache.Layers} layers, the model {layers}.", nameof(cache));
    }

    /// <summary>
    /// Throws unless every token id of <paramref name="batch"/> is below <paramref name="vocabularySize"/> (ids are
    /// non-negative by construction). Uses the largest id read when the batch was built: no device sync.
    /// </summary>
    public static void CheckVocabulary(TokenBatch batch, int vocabularySize, object model)
    {
        long max = batch.MaxTokenId;
        if (max >= vocabularySize)
            throw new ArgumentException($"the batch holds token id {max}, but {model.GetType().Name} has a vocabulary of {vocabularySize} ids (0..{vocabularySize - 1}): " +
                "the tokenizer (or the pad id) does not match the model.", nameof(batch));
    }
}
