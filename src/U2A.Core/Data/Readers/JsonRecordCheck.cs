using System.Text;
using System.Text.Json;

namespace U2A.Core.Data;

/// <summary>
/// A strict pass over one JSON record (valid UTF-8) before it is parsed: the JSON must be well-formed, no object (at
/// any depth) may repeat a key, and no string or key may hold a lone surrogate escape (<c>"\ud800"</c>). Errors name
/// the field by its path (<c>chosen[1].content</c>, <c>response_0_harm_category.Animal Abuse</c>).
/// </summary>
internal static class JsonRecordCheck
{
    private sealed class Frame(bool isObject, string path)
    {
        public bool IsObject { get; } = isObject;
        public string Path { get; } = path;
        public HashSet<string>? Keys { get; } = isObject ? new(StringComparer.Ordinal) : null;
        public string Key { get; set; } = "";
        public int Index { get; set; }
    }

    /// <summary>Checks <paramref name="utf8"/>; throws <see cref="DatasetFormatException"/> at the first problem.</summary>
    public static void Check(ReadOnlySpan<byte> utf8, RecordFields ctx) => Walk(utf8, ctx, locate: -1);

    /// <summary>The path of the string or key whose text covers byte <paramref name="offset"/>; null when none does
    /// (or the JSON breaks before it). Never throws for malformed input.</summary>
    public static string? Locate(ReadOnlySpan<byte> utf8, int offset, RecordFields ctx)
    {
        if (utf8.Contains((byte)0))
        {
            var copy = utf8.ToArray(); // a NUL inside a string would stop the tokenizer before the string is found
            copy.AsSpan().Replace((byte)0, (byte)'?');
            utf8 = copy;
        }
        try { return Walk(utf8, ctx, offset); }
        catch (DatasetFormatException) { return null; }
    }

    private static string? Walk(ReadOnlySpan<byte> utf8, RecordFields ctx, int locate)
    {
        var reader = new Utf8JsonReader(utf8); // default options, the ones JsonDocument.Parse uses (depth 64, no comments)
        var stack = new Stack<Frame>();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                    {
                        var frame = stack.Peek();
                        string name = Name(ref reader, frame, ctx, locate >= 0);
                        string path = Join(frame.Path, name);
                        if (Covers(ref reader, locate)) return path;
                        if (!frame.Keys!.Add(name) && locate < 0)
                            throw ctx.Error(path, $"is a duplicate key: {Where(frame.Path)} already has a key \"{name}\"; " +
                                                  "JSON readers differ on which copy wins, so the record is ambiguous");
                        frame.Key = name;
                        break;
                    }
                    case JsonTokenType.StartObject:
                    case JsonTokenType.StartArray:
                        stack.Push(new Frame(reader.TokenType == JsonTokenType.StartObject, ValuePath(stack)));
                        break;
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        stack.Pop();
                        break;
                    case JsonTokenType.String:
                    {
                        string path = ValuePath(stack);
                        if (Covers(ref reader, locate)) return path;
                        if (locate < 0 && reader.ValueIsEscaped && FindLoneSurrogateEscape(reader.ValueSpan, out int unit) >= 0)
                            throw ctx.Error(path.Length == 0 ? null : path, LoneEscape(unit));
                        break;
                    }
                    default:
                        ValuePath(stack); // numbers, booleans, null: count the array element
                        break;
                }
            }
        }
        catch (JsonException e)
        {
            if (locate >= 0) return null;
            throw new DatasetFormatException(ctx.File, ctx.Line, null, $"malformed JSON: {e.Message}", e);
        }
        return null;
    }

    private static bool Covers(ref Utf8JsonReader reader, int offset) =>
        offset >= 0 && offset >= reader.TokenStartIndex && offset < reader.TokenStartIndex + reader.ValueSpan.Length + 2;

    private static string Name(ref Utf8JsonReader reader, Frame frame, RecordFields ctx, bool locating)
    {
        if (reader.ValueIsEscaped && FindLoneSurrogateEscape(reader.ValueSpan, out int unit) >= 0)
        {
            string raw = Encoding.UTF8.GetString(reader.ValueSpan); // the key as written, escapes kept
            if (locating) return raw;
            throw ctx.Error(Join(frame.Path, raw), "the key " + LoneEscape(unit));
        }
        return reader.GetString()!;
    }

    private static string LoneEscape(int unit) =>
        $"holds a lone UTF-16 surrogate escape \\u{unit:x4} (a {(unit < 0xDC00 ? "high" : "low")} surrogate without its pair), " +
        "which is not valid Unicode text";

    private static string Where(string objectPath) => objectPath.Length == 0 ? "the record" : $"the object '{objectPath}'";

    private static string Join(string parent, string name) => parent.Length == 0 ? name : $"{parent}.{name}";

    /// <summary>The path of the value the reader is on (advancing the index of an enclosing array).</summary>
    private static string ValuePath(Stack<Frame> stack)
    {
        if (stack.Count == 0) return "";
        var top = stack.Peek();
        if (top.IsObject) return Join(top.Path, top.Key);
        return $"{top.Path}[{top.Index++}]";
    }

    /// <summary>The byte offset of the first <c>\uXXXX</c> escape in <paramref name="raw"/> (a string as written, its
    /// escapes already checked by the tokenizer) that is a surrogate without its pair; -1 when there is none.</summary>
    internal static int FindLoneSurrogateEscape(ReadOnlySpan<byte> raw, out int unit)
    {
        unit = 0;
        int i = 0;
        while (i < raw.Length)
        {
            if (raw[i] != (byte)'\\') { i++; continue; }
            if (raw[i + 1] != (byte)'u') { i += 2; continue; }
            int cu = Hex4(raw.Slice(i + 2, 4));
            if (cu is >= 0xD800 and <= 0xDBFF)
            {
                if (i + 12 <= raw.Length && raw[i + 6] == (byte)'\\' && raw[i + 7] == (byte)'u' && Hex4(raw.Slice(i + 8, 4)) is >= 0xDC00 and <= 0xDFFF)
                {
                    i += 12;
                    continue;
                }
                unit = cu;
                return i;
            }
            if (cu is >= 0xDC00 and <= 0xDFFF) { unit = cu; return i; }
            i += 6;
        }
        return -1;
    }

    private static int Hex4(ReadOnlySpan<byte> h)
    {
        int v = 0;
        foreach (byte b in h) v = (v << 4) | (b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10);
        return v;
    }
}
