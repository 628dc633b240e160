using System.Text;
using U2A.Core.Data;

namespace U2A.Core.Tests.Reliability.Data;

/// <summary>
/// One malformed record and what a reader must say about it: the field (null when the whole line is at fault), a
/// reason (alternatives separated by '|'), the line of the error relative to the record's first line, and how many
/// consecutive lines Skip counts. <see cref="Bytes"/> is null for text no UTF-8 file can hold (a raw lone surrogate),
/// <see cref="Text"/> null for bytes no string can hold (invalid UTF-8).
/// </summary>
internal sealed record BadCase(string Name, byte[]? Bytes, string? Text, string? Field, string Reason)
{
    public int LineOffset { get; init; }
    public int Skips { get; init; } = 1;
    public bool NotFirst { get; init; }
    public bool NotLast { get; init; }
    public DatasetReadOptions? Options { get; init; }

    private static readonly UTF8Encoding Strict = new(false, throwOnInvalidBytes: true);

    public static BadCase Of(string name, string text, string? field, string reason)
    {
        byte[]? bytes;
        try { bytes = Strict.GetBytes(text); }
        catch (EncoderFallbackException) { bytes = null; }
        return new BadCase(name, bytes, text, field, reason);
    }

    public static BadCase Of(string name, byte[] bytes, string? field, string reason)
    {
        string? text;
        try { text = Strict.GetString(bytes); }
        catch (DecoderFallbackException) { text = null; }
        return new BadCase(name, bytes, text, field, reason);
    }
}

/// <summary>The malformed-record catalogue for each reader.</summary>
internal static class MalformedCases
{
    public static readonly (string Name, byte[] Bytes)[] InvalidUtf8 =
    [
        ("0xFF", [0xFF]),
        ("0xFE", [0xFE]),
        ("C3 28 (bad continuation)", [0xC3, 0x28]),
        ("lone continuation 0x80", [0x80]),
        ("truncated E2 82", [0xE2, 0x82]),
        ("overlong C0 AF", [0xC0, 0xAF]),
        ("encoded surrogate ED A0 80", [0xED, 0xA0, 0x80]),
        ("above U+10FFFF F4 90 80 80", [0xF4, 0x90, 0x80, 0x80]),
        ("5-byte form F8 88 80 80 80", [0xF8, 0x88, 0x80, 0x80, 0x80]),
        ("Latin-1 e-acute 0xE9", [0xE9]),
    ];

    private static byte[] U(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>A good record with <paramref name="parts"/> (strings or raw bytes) added as its last members.</summary>
    private static byte[] Insert(ReaderUnderTest r, params object[] parts)
    {
        var good = r.Good(9);
        var bytes = new List<byte>(U(good[..^1]));
        foreach (var p in parts) bytes.AddRange(p as byte[] ?? U((string)p));
        bytes.Add((byte)'}');
        return [.. bytes];
    }

    public static IEnumerable<BadCase> Jsonl(ReaderUnderTest r)
    {
        string f = r.Target;
        string key = f.Split('[', '.')[0];
        string leaf = f.Split('.')[^1];
        string good = r.Good(9);

        // Invalid UTF-8 in the target text (every sequence in the middle, three also at the start and the end).
        foreach (var (name, b) in InvalidUtf8)
            yield return BadCase.Of($"invalid UTF-8 {name} mid-text", r.WithBytes("ab", b, "cd"), f, "UTF-8");
        foreach (var (name, b) in InvalidUtf8.Where((_, i) => i is 0 or 4 or 6))
        {
            yield return BadCase.Of($"invalid UTF-8 {name} at text start", r.WithBytes("", b, ""), f, "UTF-8");
            yield return BadCase.Of($"invalid UTF-8 {name} at text end", r.WithBytes("xyz", b, ""), f, "UTF-8");
        }
        yield return BadCase.Of("invalid UTF-8 in a key", Insert(r, ", \"ex", new byte[] { 0xFF }, "tra\": 1"), "ex?tra", "UTF-8");
        yield return BadCase.Of("invalid UTF-8 between tokens", Insert(r, ", ", new byte[] { 0xC3 }, " \"extra\": 1"), null, "UTF-8");
        yield return BadCase.Of("invalid UTF-8 after the object", [.. U(good), 0xFF], null, "UTF-8");
        yield return BadCase.Of("invalid UTF-8 in an ignored field", Insert(r, ", \"extra\": \"a", new byte[] { 0xE9 }, "b\""), "extra", "UTF-8");
        yield return BadCase.Of("invalid UTF-8 in a nested ignored field", Insert(r, ", \"meta2\": [{\"x\": \"", new byte[] { 0x80 }, "\"}]"), "meta2[0].x", "UTF-8");
        yield return BadCase.Of("invalid UTF-8 after 300 kB", r.WithBytes(new string('a', 300_000), [0xFF], ""), f, "UTF-8");

        // Lone surrogates: escaped in JSON (any reader, any path) and raw (text a TextReader gives).
        foreach (var esc in new[] { "\\ud800", "\\udbff", "\\udc00", "\\udfff", "\\uD800", "x\\ud800\\u0041", "\\udc00\\ud800", "\\ud83d\\ud83d", "abc\\ud83d" })
            yield return BadCase.Of($"lone surrogate escape {esc}", r.WithText(esc), f, "lone UTF-16 surrogate escape");
        yield return BadCase.Of("lone surrogate escape in a key", Insert(r, ", \"\\ud800\": 1"), "\\ud800", "lone UTF-16 surrogate escape");
        yield return BadCase.Of("lone surrogate escape in an ignored field", Insert(r, ", \"extra\": \"\\udfff\""), "extra", "lone UTF-16 surrogate escape");
        yield return BadCase.Of("lone surrogate escape nested", Insert(r, ", \"meta2\": [{\"x\": \"\\ud800\"}]"), "meta2[0].x", "lone UTF-16 surrogate escape");
        foreach (var raw in new[] { "a\uD800b", "\uDC00", "x\uDBFF", "\uDC00\uD800" })
            yield return BadCase.Of($"raw lone surrogate U+{(int)raw.First(char.IsSurrogate):X4}", r.WithText(raw), f, "lone UTF-16 surrogate");

        // Repeated keys, at the top level and nested (in read and in ignored fields).
        yield return BadCase.Of("duplicate top-level key", Insert(r, $", \"{key}\": \"dup\""), key, "duplicate key");
        yield return BadCase.Of("duplicate key spelled with an escape", Insert(r, $", \"\\u{(int)key[0]:x4}{key[1..]}\": \"dup\""), key, "duplicate key");
        yield return BadCase.Of("duplicate ignored key", Insert(r, ", \"extra\": 1, \"extra\": 2"), "extra", "duplicate key");
        yield return BadCase.Of("duplicate nested key", Insert(r, ", \"meta2\": {\"a\": 1, \"a\": 1}"), "meta2.a", "duplicate key");
        yield return BadCase.Of("duplicate deeply nested key", Insert(r, ", \"meta2\": [{\"x\": {\"k\": [1, {\"z\": 1, \"z\": 2}]}}]"), "meta2[0].x.k[1].z", "duplicate key");
        if (r.NestedDuplicate is var (find, replace, dupField))
        {
            Assert.Contains(find, good);
            yield return BadCase.Of("duplicate key in a field the reader reads", good.Replace(find, replace), dupField, "duplicate key");
        }

        // NUL bytes.
        yield return BadCase.Of("NUL in the text", r.WithBytes("a", [0], "b"), f, "NUL");
        yield return BadCase.Of("NUL between tokens", Insert(r, ", ", new byte[] { 0 }, " \"extra\": 1"), null, "NUL");
        yield return BadCase.Of("NUL at line start", [0, .. U(good)], null, "NUL");

        // Broken JSON.
        foreach (int cut in new[] { good.Length / 3, good.Length / 2, good.Length - 1 })
            yield return BadCase.Of($"truncated at {cut} of {good.Length}", good[..cut], null, "malformed JSON");
        yield return BadCase.Of("truncated inside the text", r.WithText("abc").Split("abc")[0] + "abc", null, "malformed JSON");
        yield return BadCase.Of("trailing garbage", good + " x", null, "malformed JSON");
        yield return BadCase.Of("two objects on a line", good + good, null, "malformed JSON");
        yield return BadCase.Of("single quotes", good.Replace('"', '\''), null, "malformed JSON");
        yield return BadCase.Of("trailing comma", good[..^1] + ",}", null, "malformed JSON");
        yield return BadCase.Of("comment", good[..^1] + " /* note */}", null, "malformed JSON");
        yield return BadCase.Of("NaN", Insert(r, ", \"extra\": NaN"), null, "malformed JSON");
        yield return BadCase.Of("nesting 70 deep", Insert(r, ", \"extra\": " + new string('[', 70) + new string(']', 70)), null, "malformed JSON");
        yield return BadCase.Of("invalid escape \\x", r.WithText("a\\xb"), null, "malformed JSON");
        yield return BadCase.Of("short \\u escape", r.WithText("\\u12G4"), null, "malformed JSON");
        yield return BadCase.Of("raw TAB in a string", r.WithText("a\tb"), null, "malformed JSON");
        yield return BadCase.Of("unquoted key", good.Replace($"\"{key}\":", $"{key}:"), null, "malformed JSON");
        yield return BadCase.Of("raw newline in a string (two broken lines)", r.WithText("a\nb"), null, "malformed JSON") with { Skips = 2 };
        yield return BadCase.Of("lone CR between two records", good + "\r" + good, null, "carriage return");
        foreach (var root in new[] { "[]", "[1, 2]", "\"text\"", "42", "null", "true" })
            yield return BadCase.Of($"root {root}", root, null, "must be a JSON object");
        yield return BadCase.Of("byte order mark on a later line", "\uFEFF" + good, null, "byte order mark") with { NotFirst = true };

        // Blank lines.
        yield return BadCase.Of("empty line", "", null, "blank line") with { NotLast = true };
        yield return BadCase.Of("spaces line", "   ", null, "blank line");
        yield return BadCase.Of("tab line", "\t", null, "blank line");
        yield return BadCase.Of("CR line", "\r", null, "blank line");

        // Fields: type, presence, emptiness, size.
        foreach (var (value, kind) in new[] { ("42", "a number"), ("null", "null"), ("true", "a boolean"), ("[\"a\"]", "an array"), ("{\"a\": 1}", "an object") })
            yield return BadCase.Of($"target is {kind}", r.WithValue(value), f, $"must be a string, got {kind}");
        var missing = r.Template.Replace($"\"{leaf}\": §, ", "").Replace($", \"{leaf}\": §", "");
        Assert.DoesNotContain("§", missing);
        yield return BadCase.Of("target missing", missing, f, "is missing");
        yield return BadCase.Of("target empty", r.WithValue("\"\""), f, "is empty");
        yield return BadCase.Of("target whitespace", r.WithValue("\"  \\t \""), f, "is empty");
        yield return BadCase.Of("line over MaxLineBytes", r.WithText(new string('a', 200_000)), null, "MaxLineBytes")
            with { Options = new DatasetReadOptions { MaxLineBytes = 100_000 } };
        yield return BadCase.Of("text over MaxFieldLength", r.WithText(new string('a', 5_000)), f, "MaxFieldLength")
            with { Options = new DatasetReadOptions { MaxFieldLength = 1_000 } };

        foreach (var c in Specific(r)) yield return c;
    }

    private static IEnumerable<BadCase> Specific(ReaderUnderTest r)
    {
        string good = r.Good(9);
        BadCase Replace(string name, string find, string replace, string field, string reason)
        {
            Assert.Contains(find, good);
            return BadCase.Of(name, good.Replace(find, replace), field, reason);
        }
        if (r == ReaderUnderTest.HhRlhf)
        {
            yield return BadCase.Of("empty final assistant response", r.WithText(""), "chosen", "the final Assistant response is empty");
            yield return BadCase.Of("no assistant turn", r.WithValue("\"\\n\\nHuman: hi\""), "chosen", "has no");
            yield return Replace("rejected differs before the last turn", "Human: hi\\n\\nAssistant: no", "Human: ho\\n\\nAssistant: no", "rejected", "does not share");
        }
        else if (r == ReaderUnderTest.Pku)
        {
            yield return Replace("boolean as a string", "\"is_response_0_safe\": false", "\"is_response_0_safe\": \"false\"", "is_response_0_safe", "must be a boolean");
            yield return Replace("id 2", "\"better_response_id\": 0", "\"better_response_id\": 2", "better_response_id", "must be 0 or 1");
            yield return Replace("id 1.5", "\"better_response_id\": 0", "\"better_response_id\": 1.5", "better_response_id", "integer 0 or 1");
            yield return Replace("id 1e400", "\"safer_response_id\": 1", "\"safer_response_id\": 1e400", "safer_response_id", "integer 0 or 1");
            yield return Replace("safer points at the unsafe response", "\"safer_response_id\": 1", "\"safer_response_id\": 0", "safer_response_id", "labelled unsafe");
            yield return Replace("response_1 missing", "\"response_1\": \"I can't help.\", ", "", "response_1", "is missing");
        }
        else if (r == ReaderUnderTest.UltraFeedback)
        {
            yield return Replace("three messages", "\"role\": \"assistant\"}], \"rejected\"", "\"role\": \"assistant\"}, {\"content\": \"more\", \"role\": \"user\"}], \"rejected\"", "chosen", "must hold 2 messages");
            yield return Replace("system role", "\"role\": \"assistant\"}], \"rejected\"", "\"role\": \"system\"}], \"rejected\"", "chosen[1].role", "must be \"assistant\"");
            yield return Replace("user message differs from the prompt", "\"rejected\": [{\"content\": \"p?\"", "\"rejected\": [{\"content\": \"q?\"", "rejected[0].content", "differs from 'prompt'");
            yield return Replace("message not an object", "\"rejected\": [{\"content\": \"p?\", \"role\": \"user\"}", "\"rejected\": [\"p?\"", "rejected[0]", "must be an object");
        }
        else if (r == ReaderUnderTest.GenericPairs)
        {
            yield return Replace("prompt missing", "\"prompt\": \"Q\", ", "", "prompt", "is missing");
            yield return Replace("rejected an array", "\"rejected\": \"bad\"", "\"rejected\": [\"bad\"]", "rejected", "must be a string, got an array");
        }
        else if (r == ReaderUnderTest.GenericNegatives)
        {
            yield return Replace("prompt a number", "\"prompt\": \"How to X?\"", "\"prompt\": 7", "prompt", "must be a string, got a number");
        }
        else if (r == ReaderUnderTest.GenericRetain)
        {
            yield return Replace("response missing", ", \"response\": \"Fine.\"", "", "response", "is missing");
        }
    }

    public static IEnumerable<BadCase> Csv()
    {
        var r = ReaderUnderTest.AdvBench;
        foreach (var (name, b) in InvalidUtf8)
            yield return BadCase.Of($"invalid UTF-8 {name} in the goal", r.WithBytes("ab", b, "cd"), "goal", "UTF-8");
        yield return BadCase.Of("invalid UTF-8 at goal start", r.WithBytes("", [0xFF], ""), "goal", "UTF-8");
        yield return BadCase.Of("invalid UTF-8 at goal end", r.WithBytes("xyz", [0xE2, 0x82], ""), "goal", "UTF-8");
        yield return BadCase.Of("invalid UTF-8 in a quoted target", [.. U("goal x,\"Sure, "), 0xFF, .. U(" here\"")], "target", "UTF-8");
        yield return BadCase.Of("invalid UTF-8 in an unquoted target", [.. U("goal x,Sure"), 0xC0, 0xAF], "target", "UTF-8");
        yield return BadCase.Of("invalid UTF-8 on the 2nd line of a quoted goal", [.. U("\"two\n"), 0xFF, .. U("lines\",t")], "goal", "UTF-8") with { LineOffset = 1 };
        yield return BadCase.Of("invalid UTF-8 on the 2nd line of a quoted goal with CRLF", [.. U("\"two\r\n"), 0xE9, .. U("lines\",t")], "goal", "UTF-8") with { LineOffset = 1 };
        yield return BadCase.Of("invalid UTF-8 after 300 kB of goal", r.WithBytes(new string('a', 300_000), [0xFF], ""), "goal", "UTF-8");
        yield return BadCase.Of("NUL in the goal", r.WithBytes("a", [0], "b"), "goal", "NUL");
        yield return BadCase.Of("NUL in a quoted target", [.. U("g,\"Sure"), 0, .. U("\"")], "target", "NUL");
        yield return BadCase.Of("raw lone surrogate in the goal", r.WithText("a\uD800b"), "goal", "lone UTF-16 surrogate");
        yield return BadCase.Of("raw lone surrogate in the target", "g,\"Sure \uDC00\"", "target", "lone UTF-16 surrogate");
        yield return BadCase.Of("byte order mark at a row start", "\uFEFF" + r.Good(9), "goal", "byte order mark") with { NotFirst = true };
        yield return BadCase.Of("unclosed quote in the goal", "\"unclosed,t", "goal", "not closed|after a closing quote");
        yield return BadCase.Of("unclosed quote in the target", "g,\"unclosed t", "target", "not closed|after a closing quote");
        yield return BadCase.Of("quote inside an unquoted goal", "go\"al,t", "goal", "double quote inside an unquoted field");
        yield return BadCase.Of("quote inside an unquoted target", "g,ta\"rget", "target", "double quote inside an unquoted field");
        yield return BadCase.Of("text after the goal's closing quote", "\"g\"x,t", "goal", "after a closing quote");
        yield return BadCase.Of("text after the target's closing quote", "g,\"t\"x", "target", "after a closing quote");
        yield return BadCase.Of("three fields", "g,t,extra", null, "3 fields");
        yield return BadCase.Of("three quoted fields", "g,\"t\",\"u\"", null, "3 fields");
        yield return BadCase.Of("one field", "g", "target", "is missing");
        yield return BadCase.Of("one quoted field with a comma", "\"g, with comma\"", "target", "is missing");
        yield return BadCase.Of("empty goal", ",t", "goal", "is empty");
        yield return BadCase.Of("whitespace goal", "  ,t", "goal", "whitespace only");
        yield return BadCase.Of("empty target", "g,", "target", "is empty");
        yield return BadCase.Of("empty quoted target", "g,\"\"", "target", "is empty");
        yield return BadCase.Of("only a comma", ",", "goal", "is empty");
        yield return BadCase.Of("blank line", "", null, "blank line") with { NotLast = true };
        yield return BadCase.Of("goal over MaxFieldLength", r.WithText(new string('a', 5_000)), "goal", "MaxFieldLength")
            with { Options = new DatasetReadOptions { MaxFieldLength = 1_000 } };
        yield return BadCase.Of("quoted target over MaxFieldLength", "g,\"" + new string('b', 5_000) + "\"", "target", "MaxFieldLength")
            with { Options = new DatasetReadOptions { MaxFieldLength = 1_000 } };
    }
}
