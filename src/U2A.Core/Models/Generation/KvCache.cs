using static TorchSharp.torch;

namespace U2A.Core.Models.Generation;

/// <summary>
/// The keys and values of every attention layer for the tokens a model has already seen, so that generation feeds
/// only the new tokens. Per layer, keys and values have shape [B, H_kv, S, D] (before any grouped-query repetition).
/// </summary>
/// <remarks>
/// The cache owns its tensors (they are kept out of dispose scopes): dispose it when generation ends.
/// The attention mask passed with a cached forward covers all <see cref="Length"/> cached positions plus the new ones.
/// </remarks>
public sealed class KvCache : IDisposable
{
    private readonly Tensor?[] _keys, _values;

    /// <summary>Creates an empty cache for a model with <paramref name="layers"/> attention layers.</summary>
    public KvCache(int layers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(layers, 1);
        _keys = new Tensor?[layers];
        _values = new Tensor?[layers];
    }

    /// <summary>Number of attention layers.</summary>
    public int Layers => _keys.Length;

    /// <summary>Number of cached positions S (0 when empty).</summary>
    public long Length => _keys[0]?.shape[2] ?? 0;

    /// <summary>Appends the new keys and values [B, H_kv, T, D] of <paramref name="layer"/> and returns all of them, [B, H_kv, S + T, D].</summary>
    internal (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        _keys[layer] = Concat(_keys[layer], keys);
        _values[layer] = Concat(_values[layer], values);
        return (_keys[layer]!, _values[layer]!);
    }

    private static Tensor Concat(Tensor? old, Tensor added)
    {
        var joined = old is null ? added.clone() : cat(new[] { old, added }, 2);
        old?.Dispose();
        return joined.DetachFromDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        for (int i = 0; i < _keys.Length; i++)
        {
            _keys[i]?.Dispose(); _keys[i] = null;
            _values[i]?.Dispose(); _values[i] = null;
        }
    }
}
