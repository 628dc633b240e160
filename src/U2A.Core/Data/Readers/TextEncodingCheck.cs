using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace U2A.Core.Data;

/// <summary>
/// Strict encoding checks shared by the readers: invalid UTF-8 bytes, lone UTF-16 surrogates and NUL characters are
/// found and described (never replaced silently); byte order marks at the start of a file are recognised.
/// </summary>
internal static class TextEncodingCheck
{
    /// <summary>The byte offset of the first invalid UTF-8 sequence in <paramref name="bytes"/> and its length; -1 when valid.</summary>
    public static int FindInvalidUtf8(ReadOnlySpan<byte> bytes, out int length)
    {
        length = 0;
        if (Utf8.IsValid(bytes)) return -1;
        int i = 0;
        while (i < bytes.Length)
        {
            if (bytes[i] < 0x80) { i++; continue; }
            if (Rune.DecodeFromUtf8(bytes[i..], out _, out int consumed) != OperationStatus.Done)
            {
                length = Math.Max(consumed, 1);
                return i;
            }
            i += consumed;
        }
        return -1;
    }

    /// <summary>Describes the invalid UTF-8 sequence at <paramref name="offset"/>; <paramref name="column"/> is its 1-based byte in the line.</summary>
    public static string DescribeInvalidUtf8(ReadOnlySpan<byte> bytes, int offset, int length, int column)
    {
        var shown = string.Join(" ", bytes.Slice(offset, Math.Min(length, 4)).ToArray().Select(b => $"0x{b:X2}"));
        string kind = bytes[offset] == 0xED && offset + 1 < bytes.Length && (bytes[offset + 1] & 0xE0) == 0xA0
            ? "an encoded UTF-16 surrogate (CESU-8 or WTF-8 text), which is not valid UTF-8"
            : offset + length == bytes.Length && Rune.DecodeFromUtf8(bytes[offset..], out _, out _) == OperationStatus.NeedMoreData
                ? "an incomplete UTF-8 sequence"
                : "invalid UTF-8";
        return $"{kind} (bytes {shown}) at byte {column} of the line; the file must be UTF-8 (re-encode it, e.g. from " +
               "Latin-1 or Windows-1252); bad bytes are never replaced";
    }

    /// <summary>A copy of <paramref name="bytes"/> with every byte of every invalid UTF-8 sequence set to '?', so a JSON
    /// tokenizer can still locate the field that holds them (the bytes are never structural characters).</summary>
    public static byte[] ReplaceInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        int i = 0;
        while (i < copy.Length)
        {
            if (copy[i] < 0x80) { i++; continue; }
            int n;
            if (Rune.DecodeFromUtf8(copy.AsSpan(i), out _, out n) != OperationStatus.Done)
            {
                n = Math.Max(n, 1);
                copy.AsSpan(i, n).Fill((byte)'?');
            }
            i += n;
        }
        return copy;
    }

    /// <summary>The index of the first lone UTF-16 surrogate in <paramref name="text"/>; -1 when there is none.</summary>
    public static int FindLoneSurrogate(ReadOnlySpan<char> text)
    {
        int first = text.IndexOfAnyInRange('\uD800', '\uDFFF');
        if (first < 0) return -1;
        for (int i = first; i < text.Length; i++)
        {
            char c = text[i];
            if (!char.IsSurrogate(c)) continue;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
            return i;
        }
        return -1;
    }

    /// <summary>Describes the lone surrogate <paramref name="c"/>; <paramref name="column"/> is its 1-based character in the line.</summary>
    public static string DescribeLoneSurrogate(char c, int column) =>
        $"a lone UTF-16 surrogate U+{(int)c:X4} (a {(char.IsHighSurrogate(c) ? "high" : "low")} surrogate without its pair) " +
        $"at character {column} of the line: the text is not valid Unicode (was it decoded with a lossy or wrong encoding?)";

    /// <summary>Describes a NUL character; <paramref name="position"/> names where it is (e.g. "byte 7").</summary>
    public static string DescribeNul(string position) =>
        $"a NUL character (U+0000) at {position} of the line: a text dataset holds none (is the file UTF-16, UTF-32 or binary?)";

    /// <summary>UTF-8 length of <paramref name="c"/> as it counts toward a line limit (a surrogate counts 2 of its pair's 4).</summary>
    public static int Utf8Length(char c) => c < 0x80 ? 1 : c < 0x800 || char.IsSurrogate(c) ? 2 : 3;

    /// <summary>The UTF-8 byte order mark.</summary>
    public static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    /// <summary>
    /// Throws a <see cref="DatasetFormatException"/> (under every policy) when <paramref name="start"/>, the first bytes
    /// of a file, is a UTF-16 or UTF-32 byte order mark: every line of such a file would be a bad record.
    /// </summary>
    public static void RejectNonUtf8Bom(ReadOnlySpan<byte> start, string file)
    {
        string? name = start switch
        {
            [0xFF, 0xFE, 0x00, 0x00, ..] => "UTF-32 little-endian",
            [0x00, 0x00, 0xFE, 0xFF, ..] => "UTF-32 big-endian",
            [0xFF, 0xFE, ..] => "UTF-16 little-endian",
            [0xFE, 0xFF, ..] => "UTF-16 big-endian",
            _ => null,
        };
        if (name is not null)
            throw new DatasetFormatException(file, 1, null,
                $"the file starts with a {name} byte order mark; the readers take UTF-8 only: save the file as UTF-8 " +
                "(this fails under every BadRecordPolicy, since no line of it could be read)")
            { FailsUnderEveryPolicy = true };
    }
}
