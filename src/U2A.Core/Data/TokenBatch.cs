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
    // Host copies of per-row facts, read once when the batch is built (see Rows), so that Select never waits on the device.
    private readonly RowSpan[] _rows;

    /// <summary>Where row r's real tokens lie: columns First..Last (inclusive); LastResponse is its last response column.</summary>
    private readonly record struct RowSpan(long First, long Last, long LastResponse);

    /// <summary>Creates a batch from tensors of shape [B, T]; validates shapes, dtypes, devices and masks.</summary>
    /// <remarks>
    /// The masks are checked on their device and the result read back once (one device-to-host sync per batch):
    /// every row needs a response token after position 0, and <see cref="ResponseMask"/> must lie inside
    /// <see cref="AttentionMask"/> (a response position that is padding would be scored as a response token).
    /// The same read brings each row's first and last real column to the host, which <see cref="Select"/> uses to
    /// trim padding without a sync of its own.
    /// </remarks>
    public TokenBatch(Tensor inputIds, Tensor attentionMask, Tensor responseMask)
    {
        if (inputIds.dim() != 2) throw new ArgumentException($"inputIds must have shape [B, T], got [{string.Join(", ", inputIds.shape)}].", nameof(inputIds));
        if (!inputIds.shape.SequenceEqual(attentionMask.shape)) throw new ArgumentException("attentionMask must have the shape of inputIds.", nameof(attentionMask));
        if (!inputIds.shape.SequenceEqual(responseMask.shape)) throw new ArgumentException("responseMask must have the shape of inputIds.", nameof(responseMask));
        if (inputIds.dtype != ScalarType.Int64) throw new ArgumentException($"inputIds must be int64, got {inputIds.dtype}.", nameof(inputIds));
        if (!SameDevice(attentionMask, inputIds) || !SameDevice(responseMask, inputIds))
            throw new ArgumentException("inputIds, attentionMask and responseMask must be on one device.");
        _rows = Rows(attentionMask, responseMask);
        InputIds = inputIds;
        AttentionMask = attentionMask.dtype == ScalarType.Int64 ? attentionMask : attentionMask.to_type(ScalarType.Int64);
        ResponseMask = responseMask.dtype == ScalarType.Int64 ? responseMask : responseMask.to_type(ScalarType.Int64);
    }

    /// <summary>A batch from tensors already checked (rows of a valid batch, padding columns trimmed), with their row spans.</summary>
    private TokenBatch(Tensor inputIds, Tensor attentionMask, Tensor responseMask, RowSpan[] rows)
    {
        InputIds = inputIds;
        AttentionMask = attentionMask;
        ResponseMask = responseMask;
        _rows = rows;
    }

    /// <summary>Validates the masks and reads each row's span, with one device-to-host copy.</summary>
    private static RowSpan[] Rows(Tensor attentionMask, Tensor responseMask)
    {
        long b = attentionMask.shape[0], t = attentionMask.shape[1];
        if (b == 0) return [];
        if (t == 0) throw EmptyResponse();
        long[] host;
        // A local scope: the intermediates are freed here even when the caller has no dispose scope.
        using (NewDisposeScope())
        {
            var att = attentionMask.gt(0);
            var resp = responseMask.gt(0);
            var pos = arange(t, dtype: ScalarType.Int64, device: attentionMask.device).unsqueeze(0).expand(b, t);
            var first = pos.masked_fill(att.logical_not(), t).amin([1]);
            var last = pos.masked_fill(att.logical_not(), -1).amax([1]);
            var lastResp = pos.masked_fill(resp.logical_not(), -1).amax([1]);
            var outside = resp.logical_and(att.logical_not()).any().to_type(ScalarType.Int64).reshape(1);
            // The only device-to-host sync of the constructor.
            host = cat([first, last, lastResp, outside], 0).cpu().data<long>().ToArray();
        }
        if (host[3 * b] != 0)
            throw new ArgumentException("responseMask must lie inside attentionMask: some position is marked as a response token but is padding (attention 0).", nameof(responseMask));
        var rows = new RowSpan[b];
        for (long r = 0; r < b; r++)
        {
            rows[r] = new RowSpan(host[r], host[b + r], host[2 * b + r]);
            // The first real token has no real token before it to be predicted from: a row needs a response token after it.
            if (rows[r].LastResponse <= rows[r].First) throw EmptyResponse();
        }
        return rows;
    }

    private static ArgumentException EmptyResponse() =>
        new("every row needs at least one response token after its first real token (the response mask of some row is empty, or covers only that token).", "responseMask");

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
    /// <remarks>The columns to keep come from row spans read when the batch was built: no device-to-host sync.</remarks>
    public TokenBatch Select(IReadOnlyList<long> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.Count == 0) throw new ArgumentException("indices must not be empty.", nameof(indices));
        foreach (var i in indices)
            if (i < 0 || i >= Count) throw new ArgumentOutOfRangeException(nameof(indices), $"index {i} is outside the batch of {Count}.");
        // Trim columns that are padding in every selected row (either side).
        var rows = new RowSpan[indices.Count];
        long first = long.MaxValue, last = long.MinValue;
        for (int k = 0; k < rows.Length; k++)
        {
            rows[k] = _rows[indices[k]];
            first = Math.Min(first, rows[k].First);
            last = Math.Max(last, rows[k].Last);
        }
        for (int k = 0; k < rows.Length; k++)
        {
            rows[k] = new RowSpan(rows[k].First - first, rows[k].Last - first, rows[k].LastResponse - first);
            if (rows[k].LastResponse < 1) throw EmptyResponse(); // its only response token became position 0
        }
        // A local scope: the index tensor and the untrimmed rows are freed here even when the caller has no dispose
        // scope; the three results move out to the caller's scope (or to none, as tensors made outside a scope).
        using var scope = NewDisposeScope();
        var idx = tensor(indices.ToArray(), device: Device);
        var ids = InputIds.index_select(0, idx);
        var att = AttentionMask.index_select(0, idx);
        var resp = ResponseMask.index_select(0, idx);
        if (first > 0 || last < Length - 1)
        {
            long n = last - first + 1;
            (ids, att, resp) = (ids.narrow(1, first, n), att.narrow(1, first, n), resp.narrow(1, first, n));
        }
        scope.MoveToOuter(ids, att, resp);
        return new TokenBatch(ids, att, resp, rows);
    }

    /// <summary>Copies the batch to <paramref name="device"/> (returns a new batch).</summary>
    public TokenBatch To(Device device) => new(InputIds.to(device), AttentionMask.to(device), ResponseMask.to(device), _rows);

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
