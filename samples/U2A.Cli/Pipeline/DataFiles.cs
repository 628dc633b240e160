using U2A.Core.Data;

namespace U2A.Cli.Pipeline;

/// <summary>Reads pool (negatives) and preference files in the formats the library reads.</summary>
public static class DataFiles
{
    /// <summary>The formats, as spelled on the command line.</summary>
    public static readonly string[] Formats = ["hh-rlhf", "pku", "ultrafeedback", "jsonl"];

    /// <summary>The negatives of a pool file: HH-RLHF / UltraFeedback rejected responses, PKU-SafeRLHF unsafe responses, or
    /// generic JSONL <c>{"prompt", "response"}</c>. Bad records are skipped and counted.</summary>
    public static (IReadOnlyList<NegativeExample> Records, int Skipped) ReadPool(string path, string format, string option = "--pool")
    {
        var (records, skipped) = ReadPoolRecords(path, format, option);
        if (records.Count == 0) throw new CliFailure($"{path}: the pool holds no negatives ({skipped} bad records skipped; is --format right?).");
        return (records, skipped);
    }

    private static (IReadOnlyList<NegativeExample> Records, int Skipped) ReadPoolRecords(string path, string format, string option)
    {
        CheckFile(path, option);
        var options = new DatasetReadOptions { BadRecords = BadRecordPolicy.Skip };
        switch (format)
        {
            case "hh-rlhf": { var r = HhRlhfReader.Read(path, options); return (r.Records.Select(p => p.ToNegative()).ToArray(), r.SkippedCount); }
            case "ultrafeedback": { var r = UltraFeedbackReader.Read(path, options); return (r.Records.Select(p => p.ToNegative()).ToArray(), r.SkippedCount); }
            case "pku": { var r = PkuSafeRlhfReader.Read(path, options); return (PkuSafeRlhfReader.Negatives(r.Records), r.SkippedCount); }
            case "jsonl": { var r = GenericJsonlReader.ReadNegatives(path, options); return (r.Records, r.SkippedCount); }
            default: throw new UsageException("--format", $"unknown format '{format}' (expected {string.Join(", ", Formats)}).");
        }
    }

    /// <summary>The preference pairs of a file (generic JSONL: <c>{"prompt", "chosen", "rejected"}</c>; PKU: safer response chosen).</summary>
    public static (IReadOnlyList<PreferencePair> Records, int Skipped) ReadPairs(string path, string format, string option = "--prefs")
    {
        var (records, skipped) = ReadPairRecords(path, format, option);
        if (records.Count == 0) throw new CliFailure($"{path}: the preference file holds no pairs ({skipped} bad records skipped; is --prefs-format right?).");
        return (records, skipped);
    }

    private static (IReadOnlyList<PreferencePair> Records, int Skipped) ReadPairRecords(string path, string format, string option)
    {
        CheckFile(path, option);
        var options = new DatasetReadOptions { BadRecords = BadRecordPolicy.Skip };
        switch (format)
        {
            case "hh-rlhf": { var r = HhRlhfReader.Read(path, options); return (r.Records, r.SkippedCount); }
            case "ultrafeedback": { var r = UltraFeedbackReader.Read(path, options); return (r.Records, r.SkippedCount); }
            case "pku": { var r = PkuSafeRlhfReader.Read(path, options); return (PkuSafeRlhfReader.Pairs(r.Records), r.SkippedCount); }
            case "jsonl": { var r = GenericJsonlReader.ReadPairs(path, options); return (r.Records, r.SkippedCount); }
            default: throw new UsageException("--prefs-format", $"unknown format '{format}' (expected {string.Join(", ", Formats)}).");
        }
    }

    private static void CheckFile(string path, string option)
    {
        if (!File.Exists(path)) throw new UsageException(option, $"the file '{path}' does not exist.");
    }
}
