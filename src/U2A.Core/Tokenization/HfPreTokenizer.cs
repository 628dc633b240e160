namespace U2A.Core.Tokenization;

/// <summary>A pre-tokenizer: splits a piece of (normalised) text into the words the model encodes one by one.</summary>
internal abstract class HfPreTokenizer
{
    /// <summary>Appends the pieces of <paramref name="piece"/>; <paramref name="first"/>: it starts the text (Metaspace's "first" scheme).</summary>
    public abstract void Split(string piece, bool first, List<string> output);

    /// <summary>Whether the pieces are to be read as UTF-8 bytes mapped to GPT-2's byte characters (ByteLevel).</summary>
    public virtual bool ByteLevel => false;

    /// <summary>
    /// Splits <paramref name="text"/> at <paramref name="matches"/> (the delimiters, or with <paramref name="invert"/>
    /// the text kept) following <paramref name="behavior"/>, exactly as Hugging Face's <c>NormalizedString::split</c>.
    /// </summary>
    public static void SplitAt(string text, List<(int Start, int End)> matches, HfSplitBehavior behavior, bool invert, List<string> output)
    {
        // Segments covering the text: gaps (not a match) and matches, then inverted when asked.
        var segs = new List<(int Start, int End, bool Match)>(matches.Count * 2 + 1);
        int prev = 0;
        foreach (var (s, e) in matches)
        {
            if (prev != s) segs.Add((prev, s, invert));
            segs.Add((s, e, !invert));
            prev = e;
        }
        if (prev != text.Length) segs.Add((prev, text.Length, invert));

        var result = new List<(int Start, int End, bool Remove)>(segs.Count);
        bool previousMatch = false;
        switch (behavior)
        {
            case HfSplitBehavior.Isolated:
                foreach (var (s, e, _) in segs) result.Add((s, e, false));
                break;
            case HfSplitBehavior.Removed:
                foreach (var (s, e, m) in segs) result.Add((s, e, m));
                break;
            case HfSplitBehavior.MergedWithPrevious:
                foreach (var (s, e, m) in segs)
                {
                    if (m && !previousMatch && result.Count > 0) result[^1] = (result[^1].Start, e, false);
                    else result.Add((s, e, false));
                    previousMatch = m;
                }
                break;
            case HfSplitBehavior.MergedWithNext:
                for (int k = segs.Count - 1; k >= 0; k--)
                {
                    var (s, e, m) = segs[k];
                    if (m && !previousMatch && result.Count > 0) result[^1] = (s, result[^1].End, false);
                    else result.Add((s, e, false));
                    previousMatch = m;
                }
                result.Reverse();
                break;
            case HfSplitBehavior.Contiguous:
                foreach (var (s, e, m) in segs)
                {
                    if (m == previousMatch && result.Count > 0) result[^1] = (result[^1].Start, e, false);
                    else result.Add((s, e, false));
                    previousMatch = m;
                }
                break;
        }
        foreach (var (s, e, remove) in result)
            if (!remove && e > s) output.Add(s == 0 && e == text.Length ? text : text[s..e]);
    }
}
