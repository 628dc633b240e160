using Microsoft.Extensions.Logging;

namespace U2A.Core.Data;

/// <summary>Options shared by every dataset reader.</summary>
public sealed record DatasetReadOptions
{
    /// <summary>The default options: fail on the first bad record, no field length limit, lines up to 64 MiB, no logger.</summary>
    public static DatasetReadOptions Default { get; } = new();

    /// <summary>What to do with a bad record. Default <see cref="BadRecordPolicy.Fail"/>.</summary>
    public BadRecordPolicy BadRecords { get; init; } = BadRecordPolicy.Fail;

    /// <summary>The longest text (in UTF-16 characters) any prompt or response field may hold; null for no limit.
    /// A longer field is a bad record (so it fails, or is skipped and counted, by <see cref="BadRecords"/>).</summary>
    public int? MaxFieldLength { get; init; }

    /// <summary>The longest line a JSONL reader parses, in UTF-8 bytes (line end excluded); null for no limit. Default
    /// 64 MiB. A longer line is a bad record (it fails, or is skipped and counted, by <see cref="BadRecords"/>) and is
    /// not held in memory: the limit bounds the memory one line takes, e.g. for a file that is not JSONL at all. The
    /// AdvBench CSV reader holds its whole file and is bounded per field by <see cref="MaxFieldLength"/> only.</summary>
    public int? MaxLineBytes { get; init; } = DefaultMaxLineBytes;

    /// <summary>The default <see cref="MaxLineBytes"/>: 64 MiB.</summary>
    public const int DefaultMaxLineBytes = 64 * 1024 * 1024;

    /// <summary>Receives one warning per skipped record and a summary; optional.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>Checks the options (MaxFieldLength and MaxLineBytes positive, a known BadRecords policy); returns them. Every reader calls it first.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message names it.</exception>
    public DatasetReadOptions Validate()
    {
        if (MaxFieldLength is int max && max <= 0)
            throw new ArgumentOutOfRangeException("DatasetReadOptions.MaxFieldLength", max, $"DatasetReadOptions.MaxFieldLength must be positive (or null for no limit), got {max}.");
        if (MaxLineBytes is int maxLine && maxLine <= 0)
            throw new ArgumentOutOfRangeException("DatasetReadOptions.MaxLineBytes", maxLine, $"DatasetReadOptions.MaxLineBytes must be positive (or null for no limit), got {maxLine}.");
        if (!Enum.IsDefined(BadRecords))
            throw new ArgumentOutOfRangeException("DatasetReadOptions.BadRecords", BadRecords, $"DatasetReadOptions.BadRecords must be Fail or Skip, got {(int)BadRecords}.");
        return this;
    }
}
