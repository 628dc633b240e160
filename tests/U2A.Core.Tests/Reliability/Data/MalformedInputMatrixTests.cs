using System.Text;
using U2A.Core.Data;
using Xunit.Abstractions;

namespace U2A.Core.Tests.Reliability.Data;

/// <summary>
/// Every malformed record of <see cref="MalformedCases"/>, for every reader, as the first, a middle and the last record
/// (LF), and as a middle record with CRLF line ends; as UTF-8 bytes through the Stream overload (and a real file for
/// the inputs only bytes can carry) and as text through a TextReader, wherever the input can be represented. Fail: a <see cref="DatasetFormatException"/> naming the file, the right line and field, and the
/// reason (no other exception type). Skip: the record is counted at that line, the good records around it are read with
/// their own lines, and no text read holds U+FFFD or a lone surrogate.
/// </summary>
public class MalformedInputMatrixTests(ITestOutputHelper output)
{
    private enum Position { First, Middle, Last }

    private static readonly (Position Position, string Eol)[] Layouts =
        [(Position.First, "\n"), (Position.Middle, "\n"), (Position.Last, "\n"), (Position.Middle, "\r\n")];

    private sealed class Tally
    {
        public int Inputs, ClearErrors, SkipsVerified;
        public readonly List<string> Failures = [];
        public readonly HashSet<string> CaseNames = [];
    }

    [Fact]
    public void Every_malformed_record_of_every_reader_fails_with_file_line_and_field_and_is_skipped_and_counted()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var tally = new Tally();
        using var dir = new TempDir();
        foreach (var r in ReaderUnderTest.Jsonl())
            foreach (var c in MalformedCases.Jsonl(r))
                Run(r, c, dir, tally);
        foreach (var c in MalformedCases.Csv())
            Run(ReaderUnderTest.AdvBench, c, dir, tally);

        foreach (var g in tally.CaseNames.GroupBy(n => n[..n.IndexOf(':')]))
            output.WriteLine($"{g.Key}: {g.Count()} malformed records");
        output.WriteLine($"{tally.CaseNames.Count} malformed records, {tally.Inputs} malformed inputs (layouts x bytes/file/TextReader), " +
                         $"{tally.ClearErrors} clear errors under Fail, {tally.SkipsVerified} skip counts verified under Skip ({clock.ElapsedMilliseconds} ms)");
        Assert.True(tally.Failures.Count == 0, $"{tally.Failures.Count} of {tally.Inputs} inputs failed:\n" + string.Join("\n", tally.Failures.Take(40)));
        Assert.True(tally.CaseNames.Count >= 100, $"only {tally.CaseNames.Count} malformed records");
        Assert.Equal(tally.Inputs, tally.ClearErrors);
        Assert.Equal(tally.Inputs, tally.SkipsVerified);
    }

    private static void Run(ReaderUnderTest r, BadCase c, TempDir dir, Tally tally)
    {
        tally.CaseNames.Add($"{r.Name}: {c.Name}");
        foreach (var (position, eol) in Layouts)
        {
            if ((position == Position.First && c.NotFirst) || (position == Position.Last && c.NotLast)) continue;
            var segments = new List<(bool Bad, string? Text, byte[]? Bytes)>();
            if (r.Header is not null) segments.Add((false, r.Header, Encoding.UTF8.GetBytes(r.Header)));
            (bool, string?, byte[]?) Good(int i) => (false, r.Good(i), Encoding.UTF8.GetBytes(r.Good(i)));
            var bad = (true, c.Text, c.Bytes);
            segments.AddRange(position switch
            {
                Position.First => [bad, Good(1)],
                Position.Middle => [Good(0), bad, Good(1)],
                _ => [Good(0), Good(1), bad],
            });

            // Where the records are: the header and each good record take one line, the bad one as many as it holds.
            int line = 1, badStart = 0;
            var goodLines = new List<int>();
            foreach (var (isBad, text, bytes) in segments)
            {
                if (isBad) badStart = line;
                else if (line > 1 || r.Header is null) goodLines.Add(line);
                line += isBad ? (bytes is not null ? bytes.Count(b => b == (byte)'\n') : text!.Count(ch => ch == '\n')) + 1 : 1;
            }
            int expectedLine = badStart + c.LineOffset;
            var expectedSkips = Enumerable.Range(badStart, c.Skips).ToArray();
            if (c.LineOffset > 0) expectedSkips = [expectedLine];
            bool trailingEol = position != Position.Last;
            string label = $"{r.Name} / {c.Name} / {position}{(eol == "\r\n" ? " CRLF" : "")}";

            if (c.Bytes is not null)
            {
                var content = new List<byte>();
                for (int i = 0; i < segments.Count; i++)
                {
                    content.AddRange(segments[i].Bytes!);
                    if (i < segments.Count - 1 || trailingEol) content.AddRange(Encoding.UTF8.GetBytes(eol));
                }
                string name = $"matrix-{r.Name}-bytes{r.Extension}";
                Check(tally, label + " / stream", name, o => r.ReadBytes([.. content], name, o), c, expectedLine, expectedSkips, goodLines);
                // Through a real file too, where a string cannot carry the input (invalid UTF-8): once per record.
                if (c.Text is null && position == Position.Middle && eol == "\n")
                {
                    var path = dir.Write([.. content], r.Extension);
                    Check(tally, label + " / file", path, o => r.ReadFile(path, o), c, expectedLine, expectedSkips, goodLines);
                }
            }
            if (c.Text is not null)
            {
                var text = string.Join(eol, segments.Select(s => s.Text)) + (trailingEol ? eol : "");
                string name = $"matrix-{r.Name}{r.Extension}";
                Check(tally, label + " / text", name, o => r.ReadText(new StringReader(text), name, o), c, expectedLine, expectedSkips, goodLines);
            }
        }
    }

    private static void Check(Tally tally, string label, string file, Func<DatasetReadOptions, ReadOutcome> read, BadCase c,
        int expectedLine, int[] expectedSkips, List<int> goodLines)
    {
        tally.Inputs++;
        var options = c.Options ?? DatasetReadOptions.Default;
        string? Problem(DatasetFormatException ex)
        {
            if (ex.File != file) return $"File '{ex.File}'";
            if (ex.Line != expectedLine) return $"line {ex.Line}, expected {expectedLine}";
            if (ex.Field != c.Field) return $"field '{ex.Field}', expected '{c.Field}'";
            if (!ex.Message.StartsWith($"{file}, line {expectedLine}" + (c.Field is null ? ":" : $", field '{c.Field}':"), StringComparison.Ordinal))
                return "message does not start with the location";
            if (!c.Reason.Split('|').Any(ex.Message.Contains)) return $"reason '{ex.Reason}' does not say '{c.Reason}'";
            return null;
        }

        try
        {
            var o = read(options with { BadRecords = BadRecordPolicy.Fail });
            tally.Failures.Add($"{label}: Fail read {o.Lines.Count} records without an error");
        }
        catch (DatasetFormatException ex)
        {
            if (Problem(ex) is string p) tally.Failures.Add($"{label}: Fail: {p}: {ex.Message[..Math.Min(ex.Message.Length, 300)]}");
            else tally.ClearErrors++;
        }
        catch (Exception ex)
        {
            tally.Failures.Add($"{label}: Fail threw {ex.GetType().Name}: {ex.Message}");
        }

        try
        {
            var o = read(options with { BadRecords = BadRecordPolicy.Skip });
            string? p = !o.Lines.SequenceEqual(goodLines) ? $"records at lines [{string.Join(",", o.Lines)}], expected [{string.Join(",", goodLines)}]"
                : !o.Skipped.Select(s => s.Line).SequenceEqual(expectedSkips) ? $"skipped lines [{string.Join(",", o.Skipped.Select(s => s.Line))}], expected [{string.Join(",", expectedSkips)}]"
                : Problem(o.Skipped[0]) is string q ? "first skip: " + q
                : o.Texts.Any(TextChecks.IsSuspect) ? "a text read holds U+FFFD or a lone surrogate"
                : null;
            if (p is null) tally.SkipsVerified++;
            else tally.Failures.Add($"{label}: Skip: {p}");
        }
        catch (Exception ex)
        {
            tally.Failures.Add($"{label}: Skip threw {ex.GetType().Name}: {ex.Message}");
        }
    }
}
