using U2A.Core.Data;
using static TorchSharp.torch;

namespace U2A.Testing;

/// <summary>Seeded random token batches (prompt + response rows of varying lengths, right-padded) for unit tests.</summary>
public static class TinyBatches
{
    /// <summary>
    /// A batch of <paramref name="count"/> rows, each a prompt of 1..<paramref name="maxPromptLength"/> tokens followed by a
    /// response of 1..<paramref name="maxResponseLength"/> tokens, ids drawn uniformly from 1..V-1 (0 is the padding id),
    /// right-padded to the longest row. The same arguments give the same batch (a generator of its own, not the global RNG).
    /// </summary>
    /// <param name="count">Rows; at least 1.</param>
    /// <param name="vocabularySize">The model's vocabulary size V; at least 2.</param>
    /// <param name="seed">The seed of the lengths and ids.</param>
    /// <param name="maxPromptLength">Longest prompt; at least 1.</param>
    /// <param name="maxResponseLength">Longest response; at least 1.</param>
    /// <param name="device">The device of the batch; CPU when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range; the message names it.</exception>
    public static TokenBatch Random(int count, int vocabularySize, int seed, int maxPromptLength = 4, int maxResponseLength = 4, Device? device = null)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, $"count must be at least 1, got {count}.");
        if (vocabularySize < 2) throw new ArgumentOutOfRangeException(nameof(vocabularySize), vocabularySize, $"vocabularySize must be at least 2, got {vocabularySize}.");
        if (maxPromptLength < 1) throw new ArgumentOutOfRangeException(nameof(maxPromptLength), maxPromptLength, $"maxPromptLength must be at least 1, got {maxPromptLength}.");
        if (maxResponseLength < 1) throw new ArgumentOutOfRangeException(nameof(maxResponseLength), maxResponseLength, $"maxResponseLength must be at least 1, got {maxResponseLength}.");
        var rng = new System.Random(seed);
        var rows = Enumerable.Range(0, count).Select(_ => (Prompt: rng.Next(1, maxPromptLength + 1), Response: rng.Next(1, maxResponseLength + 1))).ToArray();
        int t = rows.Max(r => r.Prompt + r.Response);
        var ids = new long[count * t];
        var attention = new long[count * t];
        var response = new long[count * t];
        for (int b = 0; b < count; b++)
            for (int i = 0; i < rows[b].Prompt + rows[b].Response; i++)
            {
                ids[b * t + i] = rng.Next(1, vocabularySize);
                attention[b * t + i] = 1;
                response[b * t + i] = i >= rows[b].Prompt ? 1 : 0;
            }
        device ??= CPU;
        long[] shape = [count, t];
        return new TokenBatch(tensor(ids, shape, device: device), tensor(attention, shape, device: device), tensor(response, shape, device: device));
    }
}
