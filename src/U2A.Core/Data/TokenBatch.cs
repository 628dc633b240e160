using TorchSharp;
using static TorchSharp.torch;

namespace U2A.Core.Data;

/// <summary>
/// A padded batch of token sequences, each a prompt followed by a response.
/// All three tensors have shape [B, T] and live on the same device.
/// </summary>
/// <remarks>
/// <see cref="ResponseMask"/> is 1 at the positions of response tokens (the tokens whose log-probabilities
/// the losses use) and 0 at prompt and padding positions. Position t's token is predicted from the logits
/// at position t-1, so position 0 is never a response token.
/// The batch owns its tensors: dispose it, or let a dispose scope do so.
/// </remarks>
public sealed class TokenBatch : IDisposable
{
    /// <summary>Creates a batch from tensors of shape [B, T]; validates shapes, dtypes and devices.</summary>
    public TokenBatch(Tensor inputIds, Tensor attentionMask, Tensor responseMask)
    {
        if (inputIds.dim() != 2) throw new ArgumentException($"inputIds must have shape [B, T], got [{string.Join(", ", inputIds.shape)}].", nameof(inputIds));
        if (!inputIds.shape.SequenceEqual(attentionMask.shape)) throw new ArgumentException("attentionMask must have the shape of inputIds.", nameof(attentionMask));
        if (!inputIds.shape.SequenceEqual(responseMask.shape)) throw new ArgumentException("responseMask must have the shape of inputIds.", nameof(responseMask));
        if (inputIds.dtype != ScalarType.Int64) throw new ArgumentException($"inputIds must be int64, got {inputIds.dtype}.", nameof(inputIds));
        if (!SameDevice(attentionMask, inputIds) || !SameDevice(responseMask, inputIds))
            throw new ArgumentException("inputIds, attentionMask and responseMask must be on one device.");
        using (var counts = responseMask[.., 1..].sum(1))
        {
            if (counts.le(0).any().item<bool>())
                throw new ArgumentException("every row needs at least one response token after position 0 (the response mask of some row is empty).", nameof(responseMask));
        }
        InputIds = inputIds;
        AttentionMask = attentionMask.dtype == ScalarType.Int64 ? attentionMask : attentionMask.to_type(ScalarType.Int64);
        ResponseMask = responseMask.dtype == ScalarType.Int64 ? responseMask : responseMask.to_type(ScalarType.Int64);
    }

    // TorchSharp's Device has no value equality (each Tensor.device is a new object): compare type and index.
    private static bool SameDevice(Tensor a, Tensor b) => a.device_type == b.device_type && a.device_index == b.device_index;

    /// <summary>Token ids, int64 [B, T].</summary>
    public Tensor InputIds { get; }

    /// <summary>1 for real tokens, 0 for padding, int64 [B, T].</summary>
    public Tensor AttentionMask { get; }

    /// <summary>1 for response tokens, 0 for prompt and padding, int64 [B, T].</summary>
    public Tensor ResponseMask { get; }

    /// <summary>Number of sequences B.</summary>
    public int Count => (int)InputIds.shape[0];

    /// <summary>Padded length T.</summary>
    public int Length => (int)InputIds.shape[1];

    /// <summary>The device of the tensors.</summary>
    public Device Device => InputIds.device;

    /// <summary>A new batch holding rows <paramref name="indices"/> (in that order); padding columns that are empty in every selected row are dropped.</summary>
    public TokenBatch Select(IReadOnlyList<long> indices)
    {
        if (indices.Count == 0) throw new ArgumentException("indices must not be empty.", nameof(indices));
        foreach (var i in indices)
            if (i < 0 || i >= Count) throw new ArgumentOutOfRangeException(nameof(indices), $"index {i} is outside the batch of {Count}.");
        using var idx = tensor(indices.ToArray(), device: Device);
        var ids = InputIds.index_select(0, idx);
        var att = AttentionMask.index_select(0, idx);
        var resp = ResponseMask.index_select(0, idx);
        // Trim columns that are padding in every selected row (either side).
        // sum(dim: 0): a bare literal 0 binds to the sum(ScalarType) overload and sums everything into a byte.
        using var used = att.sum(dim: 0).gt(0).nonzero().flatten();
        long first = used[0].item<long>(), last = used[-1].item<long>();
        if (first > 0 || last < Length - 1)
        {
            var (a, b, c) = (ids[.., (int)first..(int)(last + 1)], att[.., (int)first..(int)(last + 1)], resp[.., (int)first..(int)(last + 1)]);
            ids.Dispose(); att.Dispose(); resp.Dispose();
            return new TokenBatch(a, b, c);
        }
        return new TokenBatch(ids, att, resp);
    }

    /// <summary>Copies the batch to <paramref name="device"/> (returns a new batch).</summary>
    public TokenBatch To(Device device) => new(InputIds.to(device), AttentionMask.to(device), ResponseMask.to(device));

    /// <summary>Detaches the tensors from the current dispose scope, into the enclosing one.</summary>
    public TokenBatch MoveToOuterDisposeScope()
    {
        InputIds.MoveToOuterDisposeScope();
        AttentionMask.MoveToOuterDisposeScope();
        ResponseMask.MoveToOuterDisposeScope();
        return this;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        InputIds.Dispose();
        AttentionMask.Dispose();
        ResponseMask.Dispose();
    }
}
