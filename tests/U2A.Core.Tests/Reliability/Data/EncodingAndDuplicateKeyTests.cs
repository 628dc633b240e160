using System.Text;
using U2A.Core.Data;
using U2A.Core.Tests.Data;

namespace U2A.Core.Tests.Reliability.Data;

/// <summary>The three review findings, each for every reader it applies to, plus the edges of the strict line reading.</summary>
public class EncodingAndDuplicateKeyTests
{
    public static TheoryData<string> JsonlReaders => new(ReaderUnderTest.Jsonl().Select(r => r.Name));

    public static TheoryData<string> AllReaders => new(ReaderUnderTest.All().Select(r => r.Name));

    private static ReaderUnderTest Get(string name) => ReaderUnderTest.All().Single(r => r.Name == name);

    private static readonly DatasetReadOptions Skip = new() { BadRecords = BadRecordPolicy.Skip };

    /// <summary>good, bad, good (after the CSV header), as a file.</summary>
    private static string WriteWithBadSecondRecord(TempDir dir, ReaderUnderTest r, byte[] bad)
    {
        var content = new List<byte>();
        if (r.Header is not null) content.AddRange(Encoding.UTF8.GetBytes(r.Header + "\n"));
        content.AddRange(Encoding.UTF8.GetBytes(r.Good(1) + "\n"));
        content.AddRange(bad);
        content.AddRange(Encoding.UTF8.GetBytes("\n" + r.Good(3) + "\n"));
        return dir.Write([.. content], r.Extension);
    }

    [Theory]
    [MemberData(nameof(JsonlReaders))]
    public void Lone_escaped_surrogate_names_file_line_and_field_and_skip_reads_on(string reader)
    {
        // Before the fix, JsonElement.GetString threw InvalidOperationException with no location, past the Skip policy.
        var r = Get(reader);
        using var dir = new TempDir();
        var path = WriteWithBadSecondRecord(dir, r, Encoding.UTF8.GetBytes(r.WithText("bad \\ud800 text")));

        var ex = Assert.Throws<DatasetFormatException>(() => r.ReadFile(path, DatasetReadOptions.Default));
        Assert.Equal((path, 2, r.Target), (ex.File, ex.Line, ex.Field));
        Assert.StartsWith($"{path}, line 2, field '{r.Target}': holds a lone UTF-16 surrogate escape \\ud800", ex.Message);

        var skipped = r.ReadFile(path, Skip);
        Assert.Equal(new[] { 1, 3 }, skipped.Lines);
        Assert.Equal((2, r.Target), (Assert.Single(skipped.Skipped).Line, skipped.Skipped[0].Field));
    }

    [Theory]
    [MemberData(nameof(AllReaders))]
    public void Non_utf8_bytes_name_file_line_field_and_byte_and_are_never_replaced(string reader)
    {
        var r = Get(reader);
        using var dir = new TempDir();
        var bad = r.WithBytes("caf", [0xE9], " au lait"); // Latin-1 "café"
        int column = Array.IndexOf(bad, (byte)0xE9) + 1;
        var path = WriteWithBadSecondRecord(dir, r, bad);
        int line = r.Header is null ? 2 : 3;

        var ex = Assert.Throws<DatasetFormatException>(() => r.ReadFile(path, DatasetReadOptions.Default));
        Assert.Equal((path, line, r.Target), (ex.File, ex.Line, ex.Field));
        Assert.StartsWith($"{path}, line {line}, field '{r.Target}': invalid UTF-8 (bytes 0xE9) at byte {column} of the line", ex.Message);

        var skipped = r.ReadFile(path, Skip);
        Assert.Equal(2, skipped.Lines.Count);
        Assert.Equal(line, Assert.Single(skipped.Skipped).Line);
        Assert.DoesNotContain(skipped.Texts, TextChecks.IsSuspect);
    }

    [Theory]
    [MemberData(nameof(AllReaders))]
    public void Raw_lone_surrogate_from_a_TextReader_names_line_and_field(string reader)
    {
        var r = Get(reader);
        var text = (r.Header is null ? "" : r.Header + "\n") + r.Good(1) + "\n" + r.WithText("x\uDC00y") + "\n" + r.Good(3) + "\n";
        int line = r.Header is null ? 2 : 3;
        var ex = Assert.Throws<DatasetFormatException>(() => r.ReadText(new StringReader(text), "in-memory", DatasetReadOptions.Default));
        Assert.Equal((line, r.Target), (ex.Line, ex.Field));
        Assert.Contains("a lone UTF-16 surrogate U+DC00 (a low surrogate without its pair)", ex.Message);
        var skipped = r.ReadText(new StringReader(text), "in-memory", Skip);
        Assert.Equal((2, line), (skipped.Lines.Count, Assert.Single(skipped.Skipped).Line));
        Assert.DoesNotContain(skipped.Texts, TextChecks.IsSuspect);
    }

    [Theory]
    [MemberData(nameof(JsonlReaders))]
    public void Duplicate_keys_are_bad_records_at_the_top_level_and_nested(string reader)
    {
        var r = Get(reader);
        string good = r.Good(2);
        string key = r.Target.Split('[', '.')[0];
        var cases = new List<(string Line, string Field)>
        {
            (good[..^1] + $", \"{key}\": \"second\"}}", key),
            (good[..^1] + ", \"meta2\": [{\"a\": {\"b\": 1, \"b\": 2}}]}", "meta2[0].a.b"),
        };
        if (r.NestedDuplicate is var (find, replace, field)) cases.Add((good.Replace(find, replace), field));
        foreach (var (line, dupField) in cases)
        {
            var text = r.Good(1) + "\n" + line + "\n" + r.Good(3) + "\n";
            var ex = Assert.Throws<DatasetFormatException>(() => r.ReadText(new StringReader(text), "dup.jsonl", DatasetReadOptions.Default));
            Assert.Equal((2, dupField), (ex.Line, ex.Field));
            Assert.StartsWith($"dup.jsonl, line 2, field '{dupField}': is a duplicate key", ex.Message);
            var skipped = r.ReadText(new StringReader(text), "dup.jsonl", Skip);
            Assert.Equal(new[] { 1, 3 }, skipped.Lines);
        }
    }

    [Theory]
    [MemberData(nameof(AllReaders))]
    public void Utf8_byte_order_mark_is_fine_and_utf16_is_refused_under_every_policy(string reader)
    {
        var r = Get(reader);
        var text = (r.Header is null ? "" : r.Header + "\r\n") + r.Good(1) + "\r\n" + r.Good(2);
        using var dir = new TempDir();
        var plain = r.ReadFile(dir.Write(Encoding.UTF8.GetBytes(text), r.Extension), DatasetReadOptions.Default);
        Assert.Equal(2, plain.Lines.Count);
        var withBom = r.ReadFile(dir.Write([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(text)], r.Extension), DatasetReadOptions.Default);
        Assert.True(withBom.SameAs(plain));
        Assert.True(r.ReadText(new StringReader("\uFEFF" + text), "x", DatasetReadOptions.Default).RecordTexts.Zip(plain.RecordTexts).All(p => p.First.SequenceEqual(p.Second)));

        foreach (var encoding in new Encoding[] { new UnicodeEncoding(false, true), new UnicodeEncoding(true, true), new UTF32Encoding(false, true) })
        {
            var path = dir.Write([.. encoding.GetPreamble(), .. encoding.GetBytes(text)], r.Extension);
            foreach (var policy in new[] { BadRecordPolicy.Fail, BadRecordPolicy.Skip })
            {
                var ex = Assert.Throws<DatasetFormatException>(() => r.ReadFile(path, new DatasetReadOptions { BadRecords = policy }));
                Assert.Equal((1, (string?)null), (ex.Line, ex.Field));
                Assert.Contains($"byte order mark; the readers take UTF-8 only", ex.Message);
            }
        }

        // UTF-16 without a byte order mark: every line holds NUL bytes.
        var noBom = dir.Write(Encoding.Unicode.GetBytes(text), r.Extension);
        var nul = Assert.Throws<DatasetFormatException>(() => r.ReadFile(noBom, DatasetReadOptions.Default));
        Assert.Equal(1, nul.Line);
        Assert.Contains("NUL character", nul.Message);
    }

    [SkippableFact]
    public void File_stream_and_text_readers_agree_on_the_real_samples_however_the_text_arrives()
    {
        RealData.RequireShared();
        foreach (var (r, path) in new[] { (ReaderUnderTest.HhRlhf, RealData.HhRlhf), (ReaderUnderTest.Pku, RealData.Pku), (ReaderUnderTest.AdvBench, RealData.AdvBench) })
        {
            var byPath = r.ReadFile(path, Skip);
            Assert.NotEmpty(byPath.Lines);
            using (var stream = new MemoryStream(File.ReadAllBytes(path)))
            {
                Assert.True(r.ReadStream(stream, path, Skip).SameAs(byPath), $"{r.Name}: Stream");
                Assert.True(stream.CanRead && stream.Position == stream.Length, "the stream is read to its end and left open");
            }
            using (var sr = new StreamReader(path))
                Assert.True(r.ReadText(sr, path, Skip).SameAs(byPath), $"{r.Name}: StreamReader");
            using (var trickle = new TrickleReader(File.ReadAllText(path)))
                Assert.True(r.ReadText(trickle, path, Skip).SameAs(byPath), $"{r.Name}: a reader giving 1 to 7 characters a call");
            Assert.DoesNotContain(byPath.Texts, TextChecks.IsSuspect);
        }
    }

    [Fact]
    public void Line_ends_and_multibyte_characters_split_across_the_64k_read_buffer_are_joined()
    {
        // Line 1 is padded so its CR is the last byte of the first 64 KiB buffer and its LF the first of the next;
        // line 2 straddles the next boundary with a 3-byte character (the euro sign).
        const int buffer = 64 * 1024;
        string Rec(string response) => $"{{\"prompt\": \"Q\", \"response\": \"{response}\"}}";
        string line1 = Rec(new string('a', buffer - 1 - Rec("").Length));
        Assert.Equal(buffer - 1, line1.Length);
        int bs = 2 * buffer - 1 - (line1.Length + 2) - "{\"prompt\": \"Q\", \"response\": \"".Length; // the euro's first byte ends buffer 2
        string line2 = Rec(new string('b', bs) + "\u20ACz");
        var bytes = Encoding.UTF8.GetBytes(line1 + "\r\n" + line2 + "\n");
        Assert.Equal(0x0D, bytes[buffer - 1]);
        Assert.Equal(0xE2, bytes[2 * buffer - 1]); // the euro (E2 82 AC) straddles the second boundary
        using var dir = new TempDir();
        var result = GenericJsonlReader.ReadNegatives(dir.Write(bytes, ".jsonl"));
        Assert.Equal(new[] { 1, 2 }, result.Records.Select(x => x.Source!.Value.Line));
        Assert.Equal(buffer - 1 - Rec("").Length, result.Records[0].Response.Length); // no CR kept
        Assert.EndsWith("b\u20ACz", result.Records[1].Response);
    }

    [Fact]
    public void MaxLineBytes_is_exact_ignores_the_line_end_and_a_long_line_is_skipped_without_losing_the_next()
    {
        string Rec(int n) => $"{{\"prompt\": \"Q\", \"response\": \"{new string('r', n)}\"}}";
        string exact = Rec(100), over = Rec(101);
        var options = new DatasetReadOptions { MaxLineBytes = exact.Length };
        using var dir = new TempDir();
        foreach (var eol in new[] { "\n", "\r\n" })
        {
            var text = exact + eol + over + eol + exact + eol;
            var path = dir.Write(Encoding.UTF8.GetBytes(text), ".jsonl");
            foreach (Func<DatasetReadOptions, DatasetReadResult<NegativeExample>> read in new Func<DatasetReadOptions, DatasetReadResult<NegativeExample>>[]
                     { o => GenericJsonlReader.ReadNegatives(path, o), o => GenericJsonlReader.ReadNegatives(new StringReader(text), path, o) })
            {
                var ex = Assert.Throws<DatasetFormatException>(() => read(options));
                Assert.Equal((2, (string?)null), (ex.Line, ex.Field));
                Assert.Contains($"the line is {over.Length} bytes, over the limit of {exact.Length} (DatasetReadOptions.MaxLineBytes)", ex.Message);
                var skipped = read(options with { BadRecords = BadRecordPolicy.Skip });
                Assert.Equal(new[] { 1, 3 }, skipped.Records.Select(x => x.Source!.Value.Line));
                Assert.Equal(3, read(options with { MaxLineBytes = null }).Count);
            }
        }
        // Multi-byte text counts in UTF-8 bytes, through a TextReader too: "é" is 2 bytes.
        string accented = "{\"prompt\": \"Q\", \"response\": \"" + new string('\u00E9', 10) + "\"}";
        var tight = new DatasetReadOptions { MaxLineBytes = Encoding.UTF8.GetByteCount(accented) - 1 };
        Assert.Throws<DatasetFormatException>(() => GenericJsonlReader.ReadNegatives(new StringReader(accented), "t", tight));
        Assert.Single(GenericJsonlReader.ReadNegatives(new StringReader(accented), "t", tight with { MaxLineBytes = tight.MaxLineBytes + 1 }).Records);

        Assert.Contains("DatasetReadOptions.MaxLineBytes must be positive (or null for no limit), got 0",
            Assert.ThrowsAny<ArgumentException>(() => new DatasetReadOptions { MaxLineBytes = 0 }.Validate()).Message);
        Assert.Equal(64 * 1024 * 1024, DatasetReadOptions.Default.MaxLineBytes);
    }

    [Fact]
    public void A_lone_CR_is_not_a_line_end_and_valid_unicode_escapes_are_read()
    {
        // A CR between tokens is JSON whitespace: one record on line 1 (a reader splitting at CR would see two broken lines).
        var r = GenericJsonlReader.ReadNegatives(new StringReader("{\"prompt\": \"Q\",\r \"response\": \"R\"}\n{\"prompt\": \"Q2\", \"response\": \"R2\"}"), "cr.jsonl");
        Assert.Equal(new[] { 1, 2 }, r.Records.Select(x => x.Source!.Value.Line));

        var e = Assert.Single(GenericJsonlReader.ReadNegatives(new StringReader(
            "{\"prompt\": \"\\ud83d\\ude00 \u00E9\", \"response\": \"a\\u0000b \\u20ac\", \"Prompt\": 1, \"PROMPT\": 2}\n"), "ok.jsonl").Records);
        Assert.Equal(("\U0001F600 \u00E9", "a\0b \u20AC"), (e.Prompt, e.Response)); // keys differing in case are not duplicates
    }

    /// <summary>A TextReader that hands out 1 to 7 characters a call (seeded), so lines and surrogate pairs split across reads.</summary>
    private sealed class TrickleReader(string text) : TextReader
    {
        private readonly Random _rng = new(7);
        private int _pos;

        public override int Read(char[] buffer, int index, int count)
        {
            int n = Math.Min(Math.Min(count, _rng.Next(1, 8)), text.Length - _pos);
            text.CopyTo(_pos, buffer, index, n);
            _pos += n;
            return n;
        }

        public override int Read(Span<char> buffer)
        {
            var tmp = new char[buffer.Length];
            int n = Read(tmp, 0, tmp.Length);
            tmp.AsSpan(0, n).CopyTo(buffer);
            return n;
        }

        public override string ReadToEnd()
        {
            var s = text[_pos..];
            _pos = text.Length;
            return s;
        }
    }
}
