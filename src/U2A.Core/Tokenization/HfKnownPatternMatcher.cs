using System.Buffers;
using System.Globalization;
using System.Text;

namespace U2A.Core.Tokenization;

/// <summary>
/// A hand-written matcher, working on Unicode code points, for the split patterns of the GPT-2, Llama 3 and Qwen 2/3
/// families: the same matches as the regular expression under Oniguruma (what Hugging Face's Rust library uses),
/// including for characters outside the Basic Multilingual Plane, and faster than a regular expression.
/// </summary>
internal sealed class HfKnownPatternMatcher : IHfMatcher
{
    /// <summary>GPT-2's pattern (also the ByteLevel pre-tokenizer's built-in one).</summary>
    public const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>Llama 3's pattern (cl100k-like: digits in groups of up to three).</summary>
    public const string Llama3 = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>Qwen 2 / Qwen 3's pattern: Llama 3's with every digit on its own.</summary>
    public const string Qwen2 = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private readonly bool _gpt2;
    private readonly int _maxDigits;

    private HfKnownPatternMatcher(bool gpt2, int maxDigits)
    {
        _gpt2 = gpt2;
        _maxDigits = maxDigits;
    }

    /// <summary>The matcher for <paramref name="pattern"/>, or null when it is none of the known ones.</summary>
    public static HfKnownPatternMatcher? TryCreate(string pattern) => pattern switch
    {
        Gpt2 => new HfKnownPatternMatcher(gpt2: true, int.MaxValue),
        Llama3 => new HfKnownPatternMatcher(gpt2: false, 3),
        Qwen2 => new HfKnownPatternMatcher(gpt2: false, 1),
        _ => null,
    };

    /// <summary>The built-in GPT-2 matcher.</summary>
    public static HfKnownPatternMatcher Gpt2Matcher { get; } = new(gpt2: true, int.MaxValue);

    private enum Cls { Letter, Number, Space, Other }

    private static Cls Classify(string s, int i, out int width)
    {
        char c = s[i];
        if (c < 0x80)
        {
            width = 1;
            if ((uint)((c | 0x20) - 'a') <= 'z' - 'a') return Cls.Letter;
            if ((uint)(c - '0') <= 9) return Cls.Number;
            if (c == ' ' || (uint)(c - '\t') <= '\r' - '\t') return Cls.Space;
            return Cls.Other;
        }
        if (Rune.DecodeFromUtf16(s.AsSpan(i), out var rune, out width) != OperationStatus.Done)
        {
            width = 1;
            return Cls.Other; // a lone surrogate (the tokenizer replaces them before it gets here)
        }
        if (Rune.IsWhiteSpace(rune)) return Cls.Space;
        switch (Rune.GetUnicodeCategory(rune))
        {
            case UnicodeCategory.UppercaseLetter:
            case UnicodeCategory.LowercaseLetter:
            case UnicodeCategory.TitlecaseLetter:
            case UnicodeCategory.ModifierLetter:
            case UnicodeCategory.OtherLetter:
                return Cls.Letter;
            case UnicodeCategory.DecimalDigitNumber:
            case UnicodeCategory.LetterNumber:
            case UnicodeCategory.OtherNumber:
                return Cls.Number;
            default:
                return Cls.Other;
        }
    }

    private static int RunOf(string s, int i, Cls cls, int maxCount = int.MaxValue)
    {
        int count = 0;
        while (i < s.Length && count < maxCount && Classify(s, i, out int w) == cls) { i += w; count++; }
        return i;
    }

    /// <summary>Length of a contraction (<c>'s</c>, <c>'ll</c>...) at <paramref name="i"/>, or 0.</summary>
    private static int Contraction(string s, int i, bool ignoreCase)
    {
        if (s[i] != '\'' || i + 1 >= s.Length) return 0;
        char a = s[i + 1];
        // Oniguruma's (?i) folds U+017F LATIN SMALL LETTER LONG S to s (simple case folding); nothing else folds to these letters.
        if (ignoreCase) a = a == '\u017F' ? 's' : char.ToLowerInvariant(a) is var l && l < 0x80 ? l : a;
        if (a is 's' or 't' or 'm' or 'd') return 2;
        if (i + 2 >= s.Length) return 0;
        char b = s[i + 2];
        if (ignoreCase) b = char.ToLowerInvariant(b) is var l2 && l2 < 0x80 ? l2 : b;
        return (a, b) is ('r', 'e') or ('v', 'e') or ('l', 'l') ? 3 : 0;
    }

    public void Find(string s, List<(int Start, int End)> matches)
    {
        int i = 0;
        while (i < s.Length)
        {
            int end = _gpt2 ? MatchGpt2(s, i) : MatchLlama3(s, i);
            matches.Add((i, end));
            i = end;
        }
    }

    private int MatchGpt2(string s, int i)
    {
        int n = Contraction(s, i, ignoreCase: false);
        if (n > 0) return i + n;
        var cls = Classify(s, i, out int w);
        int p = i;
        var pc = cls;
        if (s[i] == ' ' && i + 1 < s.Length) { p = i + 1; pc = Classify(s, p, out _); if (pc == Cls.Space) { p = i; pc = cls; } }
        if (pc != Cls.Space) return RunOf(s, p, pc); // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+'
        return SpaceRun(s, i, w);
    }

    private int MatchLlama3(string s, int i)
    {
        int n = Contraction(s, i, ignoreCase: true);
        if (n > 0) return i + n;
        char c = s[i];
        var cls = Classify(s, i, out int w);
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if (cls == Cls.Letter) return RunOf(s, i, Cls.Letter);
        if (cls != Cls.Number && c != '\r' && c != '\n' && i + w < s.Length && Classify(s, i + w, out _) == Cls.Letter) return RunOf(s, i + w, Cls.Letter);
        // \p{N}{1,k}
        if (cls == Cls.Number) return RunOf(s, i, Cls.Number, _maxDigits);
        //  ?[^\s\p{L}\p{N}]+[\r\n]*
        int p = c == ' ' && i + 1 < s.Length && Classify(s, i + 1, out _) == Cls.Other ? i + 1 : i;
        if (Classify(s, p, out _) == Cls.Other)
        {
            int e = RunOf(s, p, Cls.Other);
            while (e < s.Length && s[e] is '\r' or '\n') e++;
            return e;
        }
        // \s*[\r\n]+ : through the last CR or LF of the whitespace run
        int runEnd = RunOf(s, i, Cls.Space);
        for (int j = runEnd - 1; j >= i; j--)
            if (s[j] is '\r' or '\n') return j + 1;
        return SpaceRun(s, i, w);
    }

    /// <summary><c>\s+(?!\S)|\s+</c> at a whitespace character.</summary>
    private static int SpaceRun(string s, int i, int w)
    {
        int e = RunOf(s, i, Cls.Space);
        if (e == i) return i + w; // not whitespace: cannot happen for these patterns, but always progress
        if (e == s.Length) return e;
        return e - 1 > i ? e - 1 : e; // leave the last space to the next word (every White_Space character is one UTF-16 unit)
    }
}
