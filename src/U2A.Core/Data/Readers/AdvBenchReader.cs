using System.Text;

namespace U2A.Core.Data;

/// <summary>One AdvBench behaviour: a harmful request and the compliant opening the attack targets.</summary>
/// <param name="Goal">The request (the <c>goal</c> column).</param>
/// <param name="Target">The target completion (the <c>target</c> column, e.g. "Sure, here is ...").</param>
/// <param name="Source">Where the row was read.</param>
public sealed record AdvBenchBehavior(string Goal, string Target, SourceLocation? Source = null)
{
    /// <summary>The behaviour as a negative example: the goal as prompt, the target (the harmful compliance) as response.</summary>
    public NegativeExample ToNegative() => new(Goal, Target, Source);
}

/// <summary>
/// Reads AdvBench-style CSV (<c>harmful_behaviors.csv</c>): a header <c>goal,target</c>, then one row per behaviour.
/// RFC 4180 quoting: a field holding a comma, quote or line break is double-quoted, a quote inside it doubled.
/// LF or CRLF line ends. A row that is blank, has other than two fields or an empty field is a bad record (the field
/// named <c>goal</c> or <c>target</c>). A wrong header (field <c>header</c>) and an unclosed quote (at the line where
/// the quoted field opens) fail under every <see cref="BadRecordPolicy"/>: an unclosed quote swallows the rest of the
/// file, so skipping it would drop every row after it.
/// </summary>
public static class AdvBenchReader
{
    private static readonly string[] Columns = ["goal", "target"];

    /// <summary>Reads the behaviours of an AdvBench CSV file.</summary>
    public static DatasetReadResult<AdvBenchBehavior> Read(string path, DatasetReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        options = (options ?? DatasetReadOptions.Default).Validate(); // before opening the file
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return ReadValidated(reader, path, options);
    }

    /// <summary>Reads the behaviours of AdvBench CSV text; <paramref name="sourceName"/> names it in errors.</summary>
    public static DatasetReadResult<AdvBenchBehavior> Read(TextReader reader, string sourceName, DatasetReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(sourceName);
        return ReadValidated(reader, sourceName, (options ?? DatasetReadOptions.Default).Validate());
    }

    private static DatasetReadResult<AdvBenchBehavior> ReadValidated(TextReader reader, string sourceName, DatasetReadOptions options)
    {
        string text = reader.ReadToEnd();
        int pos = 0, line = 1;
        if (text.Length == 0) throw new DatasetFormatException(sourceName, 1, "header", "the file is empty; expected the header \"goal,target\"");
        var header = ParseRow(text, ref pos, ref line, sourceName);
        if (header.Count != 2 || header[0] != "goal" || header[1] != "target")
            throw new DatasetFormatException(sourceName, 1, "header", $"expected \"goal,target\", got \"{string.Join(",", header)}\"");

        var skips = new SkipLog(sourceName, options);
        var rows = new List<AdvBenchBehavior>();
        while (pos < text.Length)
        {
            int start = line;
            bool rowParsed = false;
            try
            {
                var ctx = new RecordContext(sourceName, start, options);
                var fields = ParseRow(text, ref pos, ref line, sourceName);
                rowParsed = true;
                if (fields.Count == 1 && fields[0].Length == 0) throw ctx.Error(null, "blank line");
                if (fields.Count < 2) throw ctx.Error("target", $"is missing (the row has {fields.Count} field)");
                if (fields.Count > 2) throw ctx.Error(null, $"the row has {fields.Count} fields, expected 2 (goal,target); quote fields that hold commas");
                rows.Add(new AdvBenchBehavior(ctx.CheckText(fields[0], "goal"), ctx.CheckText(fields[1], "target"), ctx.Location));
            }
            catch (DatasetFormatException ex)
            {
                skips.Handle(ex);
                if (rowParsed) continue;
                // A syntax error: resume at the line after the one where it was found.
                while (pos < text.Length && text[pos] != '\n') pos++;
                if (pos < text.Length) { pos++; line++; }
            }
        }
        skips.Finish(rows.Count);
        return new DatasetReadResult<AdvBenchBehavior>(rows, skips.Skipped.ToArray());
    }

    private static string Column(int i) => i < Columns.Length ? Columns[i] : $"column {i + 1}";

    /// <summary>Parses one row starting at <paramref name="pos"/>; leaves <paramref name="pos"/> after its line end.</summary>
    private static List<string> ParseRow(string text, ref int pos, ref int line, string source)
    {
        int rowLine = line;
        var fields = new List<string>();
        var sb = new StringBuilder();
        while (true)
        {
            sb.Clear();
            int col = fields.Count;
            if (pos < text.Length && text[pos] == '"')
            {
                int openLine = line;
                pos++;
                while (true)
                {
                    if (pos >= text.Length)
                        throw new DatasetFormatException(source, openLine, Column(col),
                            $"the quoted field that opens on this line (in the row starting on line {rowLine}) is not closed before the end of the file; " +
                            "an unclosed quote swallows every row after it, so it fails under every BadRecordPolicy")
                        { FailsUnderEveryPolicy = true };
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
