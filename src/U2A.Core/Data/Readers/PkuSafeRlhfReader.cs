using System.Text.Json;

namespace U2A.Core.Data;

/// <summary>
/// Reads PKU-SafeRLHF JSONL: the current format (with harm categories, severity levels and hashes) and the older
/// PKU-SafeRLHF-30K format. Both carry <c>prompt</c>, <c>response_0</c>, <c>response_1</c>,
/// <c>is_response_0_safe</c>, <c>is_response_1_safe</c>, <c>better_response_id</c> and <c>safer_response_id</c>,
/// which are the fields read and checked (a <c>safer_response_id</c> that points at the unsafe response of a
/// mixed pair is a bad record); other fields are ignored.
/// </summary>
public static class PkuSafeRlhfReader
{
    /// <summary>Reads the labelled records of a PKU-SafeRLHF JSONL file.</summary>
    public static DatasetReadResult<PkuSafeRlhfRecord> Read(string path, DatasetReadOptions? options = null) =>
        JsonlReader.ReadFile<PkuSafeRlhfRecord>(path, options, Parse);

    /// <summary>Reads the labelled records of PKU-SafeRLHF JSONL text; <paramref name="sourceName"/> names it in errors.</summary>
    public static DatasetReadResult<PkuSafeRlhfRecord> Read(TextReader reader, string sourceName, DatasetReadOptions? options = null) =>
        JsonlReader.Read<PkuSafeRlhfRecord>(reader, sourceName, options, Parse);

    /// <summary>Reads the labelled records of PKU-SafeRLHF JSONL from a stream of UTF-8 bytes (decoded strictly, unlike a caller's TextReader, which may have
    /// replaced bad bytes already); <paramref name="sourceName"/> names it in errors. The stream is read to its end and
    /// left open.</summary>
    public static DatasetReadResult<PkuSafeRlhfRecord> Read(Stream utf8, string sourceName, DatasetReadOptions? options = null) =>
        JsonlReader.ReadStream<PkuSafeRlhfRecord>(utf8, sourceName, options, Parse);

    /// <summary>One preference pair per record, the safer (or better) response chosen.</summary>
    public static IReadOnlyList<PreferencePair> Pairs(IEnumerable<PkuSafeRlhfRecord> records, PkuPreference by = PkuPreference.Safer) =>
        records.Select(r => r.ToPreferencePair(by)).ToArray();

    /// <summary>Every response labelled unsafe, as a negative example, in file order.</summary>
    public static IReadOnlyList<NegativeExample> Negatives(IEnumerable<PkuSafeRlhfRecord> records) =>
        records.SelectMany(r => r.UnsafeResponses()).ToArray();

    /// <summary>Every response labelled safe, as a retain example, in file order.</summary>
    public static IReadOnlyList<RetainExample> SafeResponses(IEnumerable<PkuSafeRlhfRecord> records) =>
        records.SelectMany(r => r.SafeResponses()).ToArray();

    private static void Parse(JsonElement root, RecordFields ctx, List<PkuSafeRlhfRecord> into)
    {
        var prompt = ctx.Text(root, "prompt");
        var r0 = ctx.Text(root, "response_0");
        var r1 = ctx.Text(root, "response_1");
        bool s0 = ctx.Bool(root, "is_response_0_safe");
        bool s1 = ctx.Bool(root, "is_response_1_safe");
        int better = ctx.ZeroOrOne(root, "better_response_id");
        int safer = ctx.ZeroOrOne(root, "safer_response_id");
        if (s0 != s1 && (safer == 0 ? !s0 : !s1))
            throw ctx.Error("safer_response_id", $"is {safer}, the response labelled unsafe, while response {1 - safer} is labelled safe");
        into.Add(new PkuSafeRlhfRecord(prompt, r0, r1, s0, s1, better, safer, ctx.Location));
    }
}
