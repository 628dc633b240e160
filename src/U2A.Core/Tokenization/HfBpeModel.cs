using System.Collections.Concurrent;
using System.Text;

namespace U2A.Core.Tokenization;

/// <summary>
/// The BPE model of a <c>tokenizer.json</c>, with Hugging Face's semantics: each word's characters (or, after a
/// ByteLevel pre-tokenizer, its UTF-8 bytes as GPT-2's byte characters) become symbols, then the pair of lowest merge
/// rank (leftmost on ties) is merged until none is left. <c>ignore_merges</c> emits a word found whole in the vocabulary
/// as is; <c>byte_fallback</c> spells an unknown character as <c>&lt;0xXX&gt;</c> tokens; otherwise an unknown
/// character becomes <c>unk_token</c> (fused when <c>fuse_unk</c>) or, without one, is dropped. Thread-safe.
/// </summary>
internal sealed class HfBpeModel
{
    /// <summary>GPT-2's map from a byte to the printable character that stands for it.</summary>
    public static readonly char[] ByteToChar = BuildByteToChar();

    /// <summary>The inverse of <see cref="ByteToChar"/> (-1 for a character that stands for no byte).</summary>
    public static readonly short[] CharToByte = BuildCharToByte();

    private const int MaxCachedWordLength = 256;
    private const int MaxCacheEntries = 500_000;

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<long, (int Rank, int NewId)> _merges;
    private readonly int[] _byteCharIds = new int[256];
    private readonly int[]? _fallbackIds;
    private readonly int _unkId;
    private readonly bool _fuseUnk;
    private readonly bool _ignoreMerges;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private int _cacheCount; // ConcurrentDictionary.Count takes every lock: counted here instead

    [ThreadStatic] private static PriorityQueue<(int Pos, int NewId), long>? t_queue;

    public HfBpeModel(Dictionary<string, int> vocab, Dictionary<long, (int Rank, int NewId)> merges, int unkId, bool fuseUnk, bool byteFallback, bool ignoreMerges)
    {
        _vocab = vocab;
        _merges = merges;
        _unkId = unkId;
        _fuseUnk = fuseUnk;
        _ignoreMerges = ignoreMerges;
        for (int b = 0; b < 256; b++) _byteCharIds[b] = vocab.TryGetValue(ByteToChar[b].ToString(), out int id) ? id : -1;
        if (byteFallback)
        {
            var ids = new int[256];
            bool all = true;
            for (int b = 0; b < 256; b++)
                if (vocab.TryGetValue($"<0x{b:X2}>", out int id)) ids[b] = id;
                else all = false;
            _fallbackIds = all ? ids : null;
        }
    }

    public static long Key(int a, int b) => ((long)a << 32) | (uint)b;

    /// <summary>Appends the ids of <paramref name="word"/>; <paramref name="byteLevel"/>: its UTF-8 bytes are the symbols.</summary>
    public void Encode(string word, bool byteLevel, List<int> output)
    {
        if (word.Length == 0) return;
        if (_cache.TryGetValue(word, out var cached))
        {
            output.AddRange(cached);
            return;
        }
        var ids = EncodeUncached(word, byteLevel);
        if (word.Length <= MaxCachedWordLength && Volatile.Read(ref _cacheCount) < MaxCacheEntries && _cache.TryAdd(word, ids))
            Interlocked.Increment(ref _cacheCount);
        output.AddRange(ids);
    }

    private int[] EncodeUncached(string word, bool byteLevel)
    {
        if (_ignoreMerges)
        {
            string key = byteLevel ? ToByteLevel(word) : word;
            if (_vocab.TryGetValue(key, out int whole)) return [whole];
        }
        var symbols = new List<int>(word.Length + 4);
        if (byteLevel)
        {
            int n = Encoding.UTF8.GetByteCount(word);
            Span<byte> bytes = n <= 512 ? stackalloc byte[n] : new byte[n];
            Encoding.UTF8.GetBytes(word, bytes);
            foreach (byte b in bytes)
                if (_byteCharIds[b] >= 0) symbols.Add(_byteCharIds[b]);
                else AddUnknown(symbols, [b]);
        }
        else
        {
            Span<byte> utf8 = stackalloc byte[4];
            for (int i = 0; i < word.Length;)
            {
                Rune.DecodeFromUtf16(word.AsSpan(i), out var rune, out int width);
                if (_vocab.TryGetValue(word.Substring(i, width), out int id)) symbols.Add(id);
                else AddUnknown(symbols, utf8[..rune.EncodeToUtf8(utf8)]);
                i += width;
            }
        }
        return Merge(symbols);
    }

    private void AddUnknown(List<int> symbols, ReadOnlySpan<byte> bytes)
    {
        if (_fallbackIds is not null)
        {
            foreach (byte b in bytes) symbols.Add(_fallbackIds[b]);
            return;
        }
        if (_unkId < 0) return; // no unk token: dropped, as Hugging Face does
        if (_fuseUnk && symbols.Count > 0 && symbols[^1] == _unkId) return;
        symbols.Add(_unkId);
    }

    private int[] Merge(List<int> symbols)
    {
        int n = symbols.Count;
        if (n <= 1) return symbols.ToArray();
        if (n <= 48) return MergeByScan(symbols);
        var ids = symbols.ToArray();
        var prev = new int[n];
        var next = new int[n];
        var queue = t_queue ??= new PriorityQueue<(int, int), long>();
        queue.Clear();
        for (int k = 0; k < n; k++)
        {
            prev[k] = k - 1;
            next[k] = k + 1 < n ? k + 1 : -1;
            if (k + 1 < n && _merges.TryGetValue(Key(ids[k], ids[k + 1]), out var m)) queue.Enqueue((k, m.NewId), Priority(m.Rank, k));
        }
        int alive = n;
        while (queue.TryDequeue(out var top, out _))
        {
            int a = top.Pos;
            if (ids[a] < 0) continue;
            int b = next[a];
            if (b < 0) continue;
            if (!_merges.TryGetValue(Key(ids[a], ids[b]), out var m) || m.NewId != top.NewId) continue; // stale entry
            ids[a] = m.NewId;
            ids[b] = -1;
            alive--;
            next[a] = next[b];
            if (next[b] >= 0) prev[next[b]] = a;
            if (prev[a] >= 0 && _merges.TryGetValue(Key(ids[prev[a]], ids[a]), out var pm)) queue.Enqueue((prev[a], pm.NewId), Priority(pm.Rank, prev[a]));
            if (next[a] >= 0 && _merges.TryGetValue(Key(ids[a], ids[next[a]]), out var nm)) queue.Enqueue((a, nm.NewId), Priority(nm.Rank, a));
        }
        var result = new int[alive];
        int r = 0;
        for (int k = 0; k >= 0; k = next[k]) result[r++] = ids[k];
        return result;
    }

    /// <summary>
    /// The same merges as the heap for short words: repeatedly the pair of lowest rank, leftmost on ties. (A queued pair
    /// whose neighbours have changed since spans a different substring, so it cannot carry the new pair's merged id: the
    /// heap's stale-entry check makes both orders identical.)
    /// </summary>
    private int[] MergeByScan(List<int> symbols)
    {
        Span<int> ids = stackalloc int[symbols.Count];
        for (int k = 0; k < ids.Length; k++) ids[k] = symbols[k];
        int n = ids.Length;
        while (n > 1)
        {
            int best = -1, bestRank = int.MaxValue, bestId = 0;
            for (int k = 0; k + 1 < n; k++)
                if (_merges.TryGetValue(Key(ids[k], ids[k + 1]), out var m) && m.Rank < bestRank)
                {
                    best = k;
                    bestRank = m.Rank;
                    bestId = m.NewId;
                }
            if (best < 0) break;
            ids[best] = bestId;
            ids.Slice(best + 2, n - best - 2).CopyTo(ids.Slice(best + 1));
            n--;
        }
        return ids[..n].ToArray();
    }

    private static long Priority(int rank, int pos) => ((long)rank << 32) | (uint)pos;

    /// <summary>The byte-level spelling of <paramref name="text"/>: each UTF-8 byte as GPT-2's byte character.</summary>
    public static string ToByteLevel(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return string.Create(bytes.Length, bytes, static (span, b) =>
        {
            for (int i = 0; i < b.Length; i++) span[i] = ByteToChar[b[i]];
        });
    }

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        var taken = new bool[256];
        for (int b = '!'; b <= '~'; b++) { map[b] = (char)b; taken[b] = true; }
        for (int b = 0xA1; b <= 0xAC; b++) { map[b] = (char)b; taken[b] = true; }
        for (int b = 0xAE; b <= 0xFF; b++) { map[b] = (char)b; taken[b] = true; }
        int extra = 0;
        for (int b = 0; b < 256; b++)
            if (!taken[b]) map[b] = (char)(256 + extra++);
        return map;
    }

    private static short[] BuildCharToByte()
    {
        var inverse = new short[512];
        Array.Fill(inverse, (short)-1);
        for (int b = 0; b < 256; b++) inverse[ByteToChar[b]] = (short)b;
        return inverse;
    }
}
