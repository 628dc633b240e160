using static TorchSharp.torch;

namespace U2A.Core.Data;

/// <summary>
/// A padded batch of token sequences, each a prompt followed by a response.
/// All three tensors have shape [B, T] (B at least 1), dtype int64, and live on the same device.
/// </summary>
/// <remarks>
/// <see cref="ResponseMask"/> is 1 at the positions of response tokens (the tokens whose log-probabilities
/// the losses use) and 0 at prompt and padding positions. Position t's token is predicted from the logits
/// at position t-1, so position 0 is never a response token. Both masks hold only 0 and 1, and token ids are
/// non-negative (<see cref="Models.ResponseLogProbs"/> also checks them against the model's vocabulary).
/// <para>Ownership: the batch owns its tensors. The constructor takes ownership of the three tensors passed in (do not
/// dispose them or use them in another batch; pass clones to keep your own); <see cref="Select"/> and <see cref="To"/>
/// return independent batches with tensors of their own. Dispose the batch, or let a dispose scope do so; after
/// <see cref="Dispose"/> its tensor properties throw <see cref="ObjectDisposedException"/>.</para>
/// </remarks>
public sealed class TokenBatch : IDisposable
{
    // Host copies of per-row facts, read once when the batch is built (see Rows), so that Select never waits on the device.
    private readonly RowSpan[] _rows;
    private readonly Tensor _inputIds, _attentionMask, _responseMask;
    private bool _disposed;

    /// <summary>Where row r's real tokens lie: columns First..Last (inclusive); LastResponse is its last response column; MaxId its largest token id.</summary>
    private readonly record struct RowSpan(long First, long Last, long FirstResponse, long LastResponse, long MaxId);

    /// <summary>Creates a batch from int64 tensors of shape [B, T]; validates shapes, dtypes, devices, mask values and token ids.</summary>
    /// <param name="inputIds">Token ids, int64 [B, T], non-negative (padding positions included).</param>
    /// <param name="attentionMask">1 for real tokens, 0 for padding, int64 [B, T].</param>
    /// <param name="responseMask">1 for response tokens, 0 elsewhere, int64 [B, T], inside <paramref name="attentionMask"/>.</param>
    /// <remarks>
    /// Takes ownership of the three tensors when it succeeds; when it throws they stay the caller's.
    /// The masks and ids are checked on their device and the result read back once (one device-to-host sync per batch):
    /// every row needs a response token after position 0, and <see cref="ResponseMask"/> must lie inside
    /// <see cref="AttentionMask"/> (a response position that is padding would be scored as a response token).
    /// The same read brings each row's first and last real column to the host, which <see cref="Select"/> uses to
    /// trim padding without a sync of its own.
    /// </remarks>
    /// <exception cref="ArgumentNullException">A tensor is null.</exception>
    /// <exception cref="ArgumentException">A shape, dtype, device, mask value or token id is invalid; the message names the tensor and the value.</exception>
    public TokenBatch(Tensor inputIds, Tensor attentionMask, Tensor responseMask)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(attentionMask);
        ArgumentNullException.ThrowIfNull(responseMask);
        foreach (var (t, name) in new[] { (inputIds, nameof(inputIds)), (attentionMask, nameof(attentionMask)), (responseMask, nameof(responseMask)) })
            if (t.IsInvalid) throw new ArgumentException($"{name} is a disposed tensor.", name);
        if (inputIds.dim() != 2) throw new ArgumentException($"inputIds must have shape [B, T], got [{string.Join(", ", inputIds.shape)}].", nameof(inputIds));
        if (!inputIds.shape.SequenceEqual(attentionMask.shape)) throw new ArgumentException($"attentionMask must have the shape of inputIds [{string.Join(", ", inputIds.shape)}], got [{string.Join(", ", attentionMask.shape)}].", nameof(attentionMask));
        if (!inputIds.shape.SequenceEqual(responseMask.shape)) throw new ArgumentException($"responseMask must have the shape of inputIds [{string.Join(", ", inputIds.shape)}], got [{string.Join(", ", responseMask.shape)}].", nameof(responseMask));
        if (inputIds.shape[0] == 0) throw new ArgumentException("a batch needs at least one row; inputIds has shape [0, T].", nameof(inputIds));
        if (inputIds.dtype != ScalarType.Int64) throw new ArgumentException($"inputIds must be int64, got {inputIds.dtype}.", nameof(inputIds));
        if (attentionMask.dtype != ScalarType.Int64)
            throw new ArgumentException($"attentionMask must be int64 (0 and 1), got {attentionMask.dtype}; convert it with .to_type(ScalarType.Int64).", nameof(attentionMask));
        if (responseMask.dtype != ScalarType.Int64)
            throw new ArgumentException($"responseMask must be int64 (0 and 1), got {responseMask.dtype}; convert it with .to_type(ScalarType.Int64).", nameof(responseMask));
        if (!SameDevice(attentionMask, inputIds) || !SameDevice(responseMask, inputIds))
            throw new ArgumentException($"inputIds, attentionMask and responseMask must be on one device, got {inputIds.device}, {attentionMask.device} and {responseMask.device}.");
        _rows = Rows(inputIds, attentionMask, responseMask);
        _inputIds = inputIds;
        _attentionMask = attentionMask;
        _responseMask = responseMask;
    }

    /// <summary>A batch from tensors already checked (rows of a valid batch, padding columns trimmed), with their row spans.</summary>
    private TokenBatch(Tensor inputIds, Tensor attentionMask, Tensor responseMask, RowSpan[] rows)
    {
        _inputIds = inputIds;
        _attentionMask = attentionMask;
        _responseMask = responseMask;
        _rows = rows;
    }

    /// <summary>Validates the masks and ids and reads each row's span, with one device-to-host copy.</summary>
    private static RowSpan[] Rows(Tensor inputIds, Tensor attentionMask, Tensor responseMask)
    {
        long b = attentionMask.shape[0], t = attentionMask.shape[1];
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
            var firstResp = pos.masked_fill(resp.logical_not(), t).amin([1]);
            var maxId = inputIds.amax([1]);
            var outside = resp.logical_and(att.logical_not()).any().to_type(ScalarType.Int64).reshape(1);
            var extremes = stack(new[] { inputIds.min(), attentionMask.min(), attentionMask.max(), responseMask.min(), responseMask.max() });
            // The only device-to-host sync of the constructor.
            host = cat([first, last, lastResp, maxId, firstResp, outside, extremes], 0).cpu().data<long>().ToArray();
        }
        long k = 5 * b;
        long minId = host[k + 1], attMin = host[k + 2], attMax = host[k + 3], respMin = host[k + 4], respMax = host[k + 5];
        if (attMin < 0 || attMax > 1)
            throw new ArgumentException($"attentionMask must hold only 0 and 1, found values from {attMin} to {attMax}.", nameof(attentionMask));
        if (respMin < 0 || respMax > 1)
            throw new ArgumentException($"responseMask must hold only 0 and 1, found values from {respMin} to {respMax} (a value of 2 would count a token twice).", nameof(responseMask));
        if (minId < 0)
            throw new ArgumentException($"inputIds must be non-negative token ids, found {minId} (padding positions need a valid id too, such as the pad id).", nameof(inputIds));
        if (host[k] != 0)
            throw new ArgumentException("responseMask must lie inside attentionMask: some position is marked as a response token but is padding (attention 0).", nameof(responseMask));
        var rows = new RowSpan[b];
        for (long r = 0; r < b; r++)
        {
            rows[r] = new RowSpan(host[r], host[b + r], host[4 * b + r], host[2 * b + r], host[3 * b + r]);
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
    /// <exception cref="ObjectDisposedException">The batch was disposed.</exception>
    public Tensor InputIds => Live(_inputIds);

    /// <summary>1 for real tokens, 0 for padding, int64 [B, T].</summary>
    /// <exception cref="ObjectDisposedException">The batch was disposed.</exception>
    public Tensor AttentionMask => Live(_attentionMask);

    /// <summary>1 for response tokens, 0 for prompt and padding, int64 [B, T].</summary>
    /// <exception cref="ObjectDisposedException">The batch was disposed.</exception>
    public Tensor ResponseMask => Live(_responseMask);

    /// <summary>Whether <see cref="Dispose"/> was called (directly, or by the batch that owns this one).</summary>
    public bool IsDisposed => _disposed;

    /// <summary>The largest token id in <see cref="InputIds"/> (padding included), read when the batch was built.</summary>
    public long MaxTokenId => _rows.Max(r => r.MaxId);

    private Tensor Live(Tensor t)
    {
        ObjectDisposedException.ThrowIf(_disposed || t.IsInvalid, this);
        return t;
    }

    /// <summary>For each row, the columns from its first to its last real token: the width the row needs in a batch of its
    /// own (<see cref="Select"/> trims a selection to the widest of its rows' spans). Read when the batch was built.</summary>
    public IReadOnlyList<long> SpanLengths => Array.ConvertAll(_rows, r => r.Last - r.First + 1);

    /// <summary>
    /// The positions whose logits the response log-probabilities need, as flat indices <c>row * T + t</c> into [B, T] (the
    /// logits at t predict token t + 1): for each row, t from one before its first response token to one before its last,
    /// in row order, with the row of each. Null when that is every position 0..T-2 of every row (nothing to leave out).
    /// Built on the host from the spans read when the batch was built.
    /// </summary>
    internal (long[] Positions, long[] Rows)? ResponsePredictors()
    {
        long t = Length, total = 0;
        foreach (var r in _rows) total += r.LastResponse - Math.Max(r.FirstResponse - 1, 0);
        if (total >= _rows.Length * (t - 1)) return null;
        var positions = new long[total];
        var rows = new long[total];
        long k = 0;
        for (int row = 0; row < _rows.Length; row++)
            for (long p = Math.Max(_rows[row].FirstResponse - 1, 0); p < _rows[row].LastResponse; p++, k++)
                (positions[k], rows[k]) = (row * t + p, row);
        return (positions, rows);
    }

    /// <summary>Number of sequences B.</summary>
    public int Count => (int)InputIds.shape[0];

    /// <summary>Padded length T.</summary>
    public int Length => (int)InputIds.shape[1];

    /// <summary>The device of the tensors.</summary>
    public Device Device => InputIds.device;

    /// <summary>A new, independent batch holding rows <paramref name="indices"/> (in that order, repeats allowed); padding columns that are empty in every selected row are dropped.</summary>
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
            rows[k] = new RowSpan(rows[k].First - first, rows[k].Last - first, rows[k].FirstResponse - first, rows[k].LastResponse - first, rows[k].MaxId);
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

    /// <summary>Copies the batch to <paramref name="device"/> (returns a new, independent batch).</summary>
    public TokenBatch To(Device device) => new(InputIds.to(device), AttentionMask.to(device), ResponseMask.to(device), _rows);

    /// <summary>Detaches the tensors from the current dispose scope, into the enclosing one.</summary>
    public TokenBatch MoveToOuterDisposeScope()
    {
        InputIds.MoveToOuterDisposeScope();
        AttentionMask.MoveToOuterDisposeScope();
        ResponseMask.MoveToOuterDisposeScope();
        return this;
    }

    /// <summary>Disposes the three tensors; later uses of the batch throw <see cref="ObjectDisposedException"/>. Idempotent.</summary>
    public void Dispose()
    {
        _disposed = true;
        _inputIds.Dispose();
        _attentionMask.Dispose();
        _responseMask.Dispose();
    }
}
