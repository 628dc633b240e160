using System.Text;
using U2A.Core.Data;

namespace U2A.Core.Tests.Reliability.Data;

/// <summary>What one read returned: the line and the texts of each record, and the skipped records.</summary>
internal sealed record ReadOutcome(IReadOnlyList<int> Lines, IReadOnlyList<string[]> RecordTexts, IReadOnlyList<DatasetFormatException> Skipped)
{
    /// <summary>Every text of every record.</summary>
    public IEnumerable<string> Texts => RecordTexts.SelectMany(t => t);

    /// <summary>Whether <paramref name="other"/> holds the same records (lines and texts) and the same skips.</summary>
    public bool SameAs(ReadOutcome other) =>
        Lines.SequenceEqual(other.Lines) && RecordTexts.Count == other.RecordTexts.Count &&
        RecordTexts.Zip(other.RecordTexts).All(p => p.First.SequenceEqual(p.Second)) &&
        Skipped.Select(s => s.Message).SequenceEqual(other.Skipped.Select(s => s.Message));
}

/// <summary>
/// One reader under test, with a record template: <see cref="Template"/> holds '§' where the value of the
/// <see cref="Target"/> field goes; <see cref="TargetValue"/> is that value as JSON (or CSV), holding "@@" where its text goes.
/// </summary>
internal sealed class ReaderUnderTest
{
    public required string Name { get; init; }
    public required string Extension { get; init; }
    public string? Header { get; init; }
    public required string Template { get; init; }
    public required string TargetValue { get; init; }
    public required string Target { get; init; }
    /// <summary>A repeated key inside an object the reader reads: (text to find in a good record, its replacement, the field path).</summary>
    public (string Find, string Replace, string Field)? NestedDuplicate { get; init; }
    public required Func<string, DatasetReadOptions, ReadOutcome> ReadFile { get; init; }
    public required Func<TextReader, string, DatasetReadOptions, ReadOutcome> ReadText { get; init; }
    public required Func<Stream, string, DatasetReadOptions, ReadOutcome> ReadStream { get; init; }

    /// <summary>Reads <paramref name="bytes"/> through the Stream overload.</summary>
    public ReadOutcome ReadBytes(byte[] bytes, string name, DatasetReadOptions options) => ReadStream(new MemoryStream(bytes, writable: false), name, options);

    public bool IsCsv => Header is not null;

    /// <summary>A good record, distinct for each <paramref name="i"/>.</summary>
    public string Good(int i) => WithText($"answer {i}");

    public string WithValue(string value) => Template.Replace("§", value);

    public string WithText(string text) => WithValue(TargetValue.Replace("@@", text));

    /// <summary>The record with raw <paramref name="bytes"/> (e.g. invalid UTF-8) spliced into the target text between <paramref name="before"/> and <paramref name="after"/>.</summary>
    public byte[] WithBytes(string before, byte[] bytes, string after)
    {
        var parts = WithText("\u0001").Split('\u0001');
        return [.. Encoding.UTF8.GetBytes(parts[0] + before), .. bytes, .. Encoding.UTF8.GetBytes(after + parts[1])];
    }

    private static ReadOutcome Jsonl(DatasetReadResult<PreferencePair> r) =>
        new(r.Records.Select(p => p.Source!.Value.Line).ToArray(), r.Records.Select(p => new[] { p.Prompt, p.Chosen, p.Rejected }).ToArray(), r.Skipped);

    private static ReadOutcome Jsonl(DatasetReadResult<NegativeExample> r) =>
        new(r.Records.Select(p => p.Source!.Value.Line).ToArray(), r.Records.Select(p => new[] { p.Prompt, p.Response }).ToArray(), r.Skipped);

    private static ReadOutcome Jsonl(DatasetReadResult<RetainExample> r) =>
        new(r.Records.Select(p => p.Source!.Value.Line).ToArray(), r.Records.Select(p => new[] { p.Prompt, p.Response }).ToArray(), r.Skipped);

    private static ReadOutcome Jsonl(DatasetReadResult<PkuSafeRlhfRecord> r) =>
        new(r.Records.Select(p => p.Source!.Value.Line).ToArray(), r.Records.Select(p => new[] { p.Prompt, p.Response0, p.Response1 }).ToArray(), r.Skipped);

    private static ReadOutcome Csv(DatasetReadResult<AdvBenchBehavior> r) =>
        new(r.Records.Select(p => p.Source!.Value.Line).ToArray(), r.Records.Select(p => new[] { p.Goal, p.Target }).ToArray(), r.Skipped);

    public static readonly ReaderUnderTest HhRlhf = new()
    {
        Name = "HH-RLHF", Extension = ".jsonl", Target = "chosen",
        Template = "{\"chosen\": §, \"rejected\": \"\\n\\nHuman: hi\\n\\nAssistant: no\"}",
        TargetValue = "\"\\n\\nHuman: hi\\n\\nAssistant: @@\"",
        ReadFile = (p, o) => Jsonl(HhRlhfReader.Read(p, o)),
        ReadText = (r, n, o) => Jsonl(HhRlhfReader.Read(r, n, o)),
        ReadStream = (r, n, o) => Jsonl(HhRlhfReader.Read(r, n, o)),
    };

    public static readonly ReaderUnderTest Pku = new()
    {
        Name = "PKU-SafeRLHF", Extension = ".jsonl", Target = "prompt",
        Template = "{\"prompt\": §, \"response_0\": \"Use a pick.\", \"response_1\": \"I can't help.\", \"prompt_source\": \"Beavertails\", " +
                   "\"is_response_0_safe\": false, \"is_response_1_safe\": true, " +
                   "\"response_0_harm_category\": {\"Animal Abuse\": false, \"Privacy Violation\": true}, \"response_0_severity_level\": 1, " +
                   "\"better_response_id\": 0, \"safer_response_id\": 1}",
        TargetValue = "\"How do I pick a lock @@?\"",
        NestedDuplicate = ("\"Animal Abuse\": false,", "\"Animal Abuse\": false, \"Animal Abuse\": true,", "response_0_harm_category.Animal Abuse"),
        ReadFile = (p, o) => Jsonl(PkuSafeRlhfReader.Read(p, o)),
        ReadText = (r, n, o) => Jsonl(PkuSafeRlhfReader.Read(r, n, o)),
        ReadStream = (r, n, o) => Jsonl(PkuSafeRlhfReader.Read(r, n, o)),
    };

    public static readonly ReaderUnderTest UltraFeedback = new()
    {
        Name = "UltraFeedback", Extension = ".jsonl", Target = "chosen[1].content",
        Template = "{\"prompt\": \"p?\", \"prompt_id\": \"abc\", \"chosen\": [{\"content\": \"p?\", \"role\": \"user\"}, {\"content\": §, \"role\": \"assistant\"}], " +
                   "\"rejected\": [{\"content\": \"p?\", \"role\": \"user\"}, {\"content\": \"no\", \"role\": \"assistant\"}], \"messages\": [], " +
                   "\"score_chosen\": 8.5, \"score_rejected\": 4.0}",
        TargetValue = "\"yes @@\"",
        NestedDuplicate = ("\"role\": \"user\"}, {\"content\": \"yes", "\"role\": \"user\", \"role\": \"user\"}, {\"content\": \"yes", "chosen[0].role"),
        ReadFile = (p, o) => Jsonl(UltraFeedbackReader.Read(p, o)),
        ReadText = (r, n, o) => Jsonl(UltraFeedbackReader.Read(r, n, o)),
        ReadStream = (r, n, o) => Jsonl(UltraFeedbackReader.Read(r, n, o)),
    };

    public static readonly ReaderUnderTest GenericPairs = new()
    {
        Name = "Generic pairs", Extension = ".jsonl", Target = "chosen",
        Template = "{\"prompt\": \"Q\", \"chosen\": §, \"rejected\": \"bad\", \"meta\": {\"k\": 1, \"tags\": [\"a\", \"b\"]}}",
        TargetValue = "\"good @@\"",
        NestedDuplicate = ("\"k\": 1,", "\"k\": 1, \"k\": 2,", "meta.k"),
        ReadFile = (p, o) => Jsonl(GenericJsonlReader.ReadPairs(p, o)),
        ReadText = (r, n, o) => Jsonl(GenericJsonlReader.ReadPairs(r, n, o)),
        ReadStream = (r, n, o) => Jsonl(GenericJsonlReader.ReadPairs(r, n, o)),
    };

    public static readonly ReaderUnderTest GenericNegatives = new()
    {
        Name = "Generic negatives", Extension = ".jsonl", Target = "response",
        Template = "{\"prompt\": \"How to X?\", \"response\": §}",
        TargetValue = "\"Do @@.\"",
        ReadFile = (p, o) => Jsonl(GenericJsonlReader.ReadNegatives(p, o)),
        ReadText = (r, n, o) => Jsonl(GenericJsonlReader.ReadNegatives(r, n, o)),
        ReadStream = (r, n, o) => Jsonl(GenericJsonlReader.ReadNegatives(r, n, o)),
    };

    public static readonly ReaderUnderTest GenericRetain = new()
    {
        Name = "Generic retain", Extension = ".jsonl", Target = "prompt",
        Template = "{\"prompt\": §, \"response\": \"Fine.\"}",
        TargetValue = "\"Q @@\"",
        ReadFile = (p, o) => Jsonl(GenericJsonlReader.ReadRetain(p, o)),
        ReadText = (r, n, o) => Jsonl(GenericJsonlReader.ReadRetain(r, n, o)),
        ReadStream = (r, n, o) => Jsonl(GenericJsonlReader.ReadRetain(r, n, o)),
    };

    public static readonly ReaderUnderTest AdvBench = new()
    {
        Name = "AdvBench", Extension = ".csv", Header = "goal,target", Target = "goal",
        Template = "§,\"Sure, here is one\"",
        TargetValue = "goal @@",
        ReadFile = (p, o) => Csv(AdvBenchReader.Read(p, o)),
        ReadText = (r, n, o) => Csv(AdvBenchReader.Read(r, n, o)),
        ReadStream = (r, n, o) => Csv(AdvBenchReader.Read(r, n, o)),
    };

    public static IReadOnlyList<ReaderUnderTest> Jsonl() => [HhRlhf, Pku, UltraFeedback, GenericPairs, GenericNegatives, GenericRetain];

    public static IReadOnlyList<ReaderUnderTest> All() => [.. Jsonl(), AdvBench];
}

/// <summary>Writes bytes to temporary files in one folder, deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    private int _n;

    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"u2a-rel-data-{Guid.NewGuid():N}");

    public string Write(byte[] content, string extension)
    {
        var file = System.IO.Path.Combine(Path, $"case{++_n}{extension}");
        File.WriteAllBytes(file, content);
        return file;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

/// <summary>Checks on text a reader returned.</summary>
internal static class TextChecks
{
    /// <summary>Whether <paramref name="s"/> holds U+FFFD (a silent replacement) or a lone surrogate.</summary>
    public static bool IsSuspect(string s)
    {
        if (s.Contains('\uFFFD')) return true;
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) { i++; continue; }
            if (char.IsSurrogate(s[i])) return true;
        }
        return false;
    }
}
