using System.Buffers;
using System.Text;

namespace U2A.Core.Data;

/// <summary>
/// Reads AdvBench-style CSV (<c>harmful_behaviors.csv</c>): a header <c>goal,target</c>, then one row per behaviour.
/// RFC 4180 quoting: a field holding a comma, quote or line break is double-quoted, a quote inside it doubled.
/// LF or CRLF line ends; strict UTF-8 (a UTF-8 byte order mark at the start is allowed). A row that is blank, has
/// other than two fields or an empty field is a bad record (the field named <c>goal</c> or <c>target</c>); so is a row
/// holding invalid UTF-8, a lone surrogate or a NUL character (at the line and field where it is). A syntax error
/// (a stray or unclosed quote) makes the row bad too, and reading resumes on the line after the one where the faulty
/// field opens, so an unclosed quote never swallows the rows after it. A wrong header (field <c>header</c>) and a
/// UTF-16 or UTF-32 file fail under every <see cref="BadRecordPolicy"/>.
/// </summary>
public static class AdvBenchReader
{
    private static readonly string[] Columns = ["goal", "target"];

    /// <summary>Reads the behaviours of an AdvBench CSV file.</summary>
    public static DatasetReadResult<AdvBenchBehavior> Read(string path, DatasetReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        options = (options ?? DatasetReadOptions.Default).Validate(); // before opening the file
        var (text, issues) = Decode(File.ReadAllBytes(path), path);
        return ReadValidated(text, issues, path, options);
    }

    /// <summary>Reads the behaviours of AdvBench CSV from a stream of UTF-8 bytes (decoded strictly, unlike a caller's TextReader, which may have
    /// replaced bad bytes already); <paramref name="sourceName"/> names it in errors. The stream is read to its end and
    /// left open.</summary>
    public static DatasetReadResult<AdvBenchBehavior> Read(Stream utf8, string sourceName, DatasetReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(utf8);
        ArgumentNullException.ThrowIfNull(sourceName);
        options = (options ?? DatasetReadOptions.Default).Validate();
        using var copy = new MemoryStream();
        utf8.CopyTo(copy);
        var (text, issues) = Decode(copy.ToArray(), sourceName);
        return ReadValidated(text, issues, sourceName, options);
    }

    /// <summary>Reads the behaviours of AdvBench CSV text; <paramref name="sourceName"/> names it in errors.</summary>
    public static DatasetReadResult<AdvBenchBehavior> Read(TextReader reader, string sourceName, DatasetReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(sourceName);
        options = (options ?? DatasetReadOptions.Default).Validate();
        string text = reader.ReadToEnd();
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..]; // a byte order mark the caller's reader kept
        return ReadValidated(text, Check(text), sourceName, options);
    }

    /// <summary>An encoding problem at character <see cref="Pos"/> of the text, on line <see cref="Line"/>.</summary>
    private readonly record struct Issue(int Pos, int Line, string Reason);

    /// <summary>Decodes strict UTF-8: an invalid sequence becomes one U+FFFD in the text, with an <see cref="Issue"/>
    /// at its position, so the row that holds it is a bad record; nothing is replaced silently.</summary>
    private static (string Text, List<Issue> Issues) Decode(byte[] bytes, string file)
    {
        TextEncodingCheck.RejectNonUtf8Bom(bytes, file);
        var span = bytes.AsSpan(bytes.AsSpan().StartsWith(TextEncodingCheck.Utf8Bom) ? 3 : 0);
        var issues = new List<Issue>();
        if (System.Text.Unicode.Utf8.IsValid(span) && !span.Contains((byte)0))
            return (Encoding.UTF8.GetString(span), issues);
        var sb = new StringBuilder(span.Length);
        int line = 1, lineStart = 0, run = 0, i = 0;
        while (i < span.Length)
        {
            byte b = span[i];
            if (b == (byte)'\n') { line++; lineStart = i + 1; i++; continue; }
            if (b == 0)
            {
                sb.Append(Encoding.UTF8.GetString(span[run..i]));
                issues.Add(new Issue(sb.Length, line, TextEncodingCheck.DescribeNul($"byte {i - lineStart + 1}")));
                sb.Append('\0');
                run = ++i;
                continue;
            }
            if (b < 0x80) { i++; continue; }
            if (Rune.DecodeFromUtf8(span[i..], out _, out int length) == OperationStatus.Done) { i += length; continue; }
            length = Math.Max(length, 1);
            sb.Append(Encoding.UTF8.GetString(span[run..i]));
            var lineBytes = span[lineStart..];
            int nl = lineBytes.IndexOf((byte)'\n');
            if (nl >= 0) lineBytes = lineBytes[..nl];
            issues.Add(new Issue(sb.Length, line, TextEncodingCheck.DescribeInvalidUtf8(lineBytes, i - lineStart, length, i - lineStart + 1)));
            sb.Append('\uFFFD');
            i += length;
            run = i;
        }
        sb.Append(Encoding.UTF8.GetString(span[run..]));
        return (sb.ToString(), issues);
    }

    /// <summary>The lone surrogates and NUL characters of text the caller decoded.</summary>
    private static List<Issue> Check(string text)
    {
        var issues = new List<Issue>();
        if (text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF') < 0 && !text.Contains('\0')) return issues;
        int line = 1, lineStart = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\n') { line++; lineStart = i + 1; }
            else if (c == '\0') issues.Add(new Issue(i, line, TextEncodingCheck.DescribeNul($"character {i - lineStart + 1}")));
            else if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            else if (char.IsSurrogate(c)) issues.Add(new Issue(i, line, TextEncodingCheck.DescribeLoneSurrogate(c, i - lineStart + 1)));
        }
        return issues;
    }

    private static DatasetReadResult<AdvBenchBehavior> ReadValidated(string text, List<Issue> issues, string sourceName, DatasetReadOptions options)
    {
        int pos = 0, line = 1, fieldStart = 0, fieldLine = 1;
        var starts = new List<int>();
        if (text.Length == 0) throw new DatasetFormatException(sourceName, 1, "header", "the file is empty; expected the header \"goal,target\"");
        var header = ParseRow(text, ref pos, ref line, sourceName, starts, ref fieldStart, ref fieldLine);
        if (FirstIssue(issues, 0, pos) is Issue hi)
            throw new DatasetFormatException(sourceName, hi.Line, "header", hi.Reason);
        if (header.Count != 2 || header[0] != "goal" || header[1] != "target")
            throw new DatasetFormatException(sourceName, 1, "header", $"expected \"goal,target\", got \"{string.Join(",", header)}\"");

        var skips = new SkipLog(sourceName, options);
        var rows = new List<AdvBenchBehavior>();
        while (pos < text.Length)
        {
            int start = line, rowPos = pos;
            bool rowParsed = false;
            try
            {
                var ctx = new RecordFields(sourceName, start, options);
                var fields = ParseRow(text, ref pos, ref line, sourceName, starts, ref fieldStart, ref fieldLine);
                rowParsed = true;
                if (FirstIssue(issues, rowPos, pos) is Issue issue)
                {
                    int col = starts.FindLastIndex(s => s <= issue.Pos);
                    throw new DatasetFormatException(sourceName, issue.Line, Column(Math.Max(col, 0)), issue.Reason);
                }
                if (text[rowPos] == '\uFEFF')
                    throw ctx.Error("goal", "starts with a byte order mark, which only the start of a file may have (were files concatenated?)");
                if (fields.Count == 1 && fields[0].Length == 0) throw ctx.Error(null, "blank line");
                if (fields.Count < 2) throw ctx.Error("target", $"is missing (the row has {fields.Count} field)");
                if (fields.Count > 2) throw ctx.Error(null, $"the row has {fields.Count} fields, expected 2 (goal,target); quote fields that hold commas");
                rows.Add(new AdvBenchBehavior(ctx.CheckText(fields[0], "goal"), ctx.CheckText(fields[1], "target"), ctx.Location));
            }
            catch (DatasetFormatException ex)
            {
                skips.Handle(ex);
                if (rowParsed) continue;
                // A syntax error: resume on the line after the one where the faulty field opens. A quote that was
                // meant literally (or never closed) then costs its own line, not the rows it would have swallowed.
                pos = fieldStart;
                while (pos < text.Length && text[pos] != '\n') pos++;
                if (pos < text.Length) pos++;
                line = fieldLine + 1;
            }
        }
        skips.Finish(rows.Count);
        return new DatasetReadResult<AdvBenchBehavior>(rows, skips.Skipped.ToArray());
    }

    /// <summary>The first issue at a position in [<paramref name="from"/>, <paramref name="to"/>).</summary>
    private static Issue? FirstIssue(List<Issue> issues, int from, int to)
    {
        if (issues.Count == 0) return null;
        int lo = 0, hi = issues.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) / 2;
            if (issues[mid].Pos < from) lo = mid + 1; else hi = mid;
        }
        return lo < issues.Count && issues[lo].Pos < to ? issues[lo] : null;
    }

    private static string Column(int i) => i < Columns.Length ? Columns[i] : $"column {i + 1}";

    /// <summary>Parses one row starting at <paramref name="pos"/>; leaves <paramref name="pos"/> after its line end.
    /// <paramref name="starts"/> receives the position each field starts at; <paramref name="fieldStart"/> and
    /// <paramref name="fieldLine"/> the position and line of the field being parsed (kept when a syntax error throws).</summary>
    private static List<string> ParseRow(string text, ref int pos, ref int line, string source, List<int> starts, ref int fieldStart, ref int fieldLine)
    {
        int rowLine = line;
        var fields = new List<string>();
        starts.Clear();
        var sb = new StringBuilder();
        while (true)
        {
            sb.Clear();
            int col = fields.Count;
            fieldStart = pos;
            fieldLine = line;
            starts.Add(pos);
            if (pos < text.Length && text[pos] == '"')
            {
                int openLine = line;
                pos++;
                while (true)
                {
                    if (pos >= text.Length)
                        throw new DatasetFormatException(source, openLine, Column(col),
                            $"the quoted field that opens on this line (in the row starting on line {rowLine}) is not closed before the end of the file; " +
                            "the row is a bad record and reading resumes on the next line");
                    char c = text[pos++];
                    if (c == '"')
                    {
                        if (pos < text.Length && text[pos] == '"') { sb.Append('"'); pos++; continue; }
                        break;
                    }
                    if (c == '\n') line++;
                    sb.Append(c);
                }
                bool crlf = pos + 1 < text.Length && text[pos] == '\r' && text[pos + 1] == '\n';
                if (pos < text.Length && text[pos] is not (',' or '\n') && !crlf)
                    throw new DatasetFormatException(source, rowLine, Column(col), $"unexpected character '{text[pos]}' after a closing quote");
            }
            else
            {
                while (pos < text.Length && text[pos] is not (',' or '\n'))
                {
                    char c = text[pos];
                    if (c == '"') throw new DatasetFormatException(source, rowLine, Column(col), "a double quote inside an unquoted field (quote the field and double the quote)");
                    if (c == '\r' && pos + 1 < text.Length && text[pos + 1] == '\n') { pos++; continue; }
                    sb.Append(c);
                    pos++;
                }
            }
            if (pos < text.Length && text[pos] == '\r' && pos + 1 < text.Length && text[pos + 1] == '\n') pos++;
            fields.Add(sb.ToString());
            if (pos >= text.Length) return fields;
            char sep = text[pos++];
            if (sep == '\n') { line++; return fields; }
            // sep == ',': next field
        }
    }
}
