using Microsoft.Extensions.Logging;

namespace U2A.Core.Data;

/// <summary>What a reader does with a record it cannot read.</summary>
public enum BadRecordPolicy
{
    /// <summary>Throw a <see cref="DatasetFormatException"/> (the default).</summary>
    Fail,

    /// <summary>Skip the record, count it in <see cref="DatasetReadResult{T}.Skipped"/> and log it (warning) through <see cref="DatasetReadOptions.Logger"/>.</summary>
    Skip,
}

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
            throw new ArgumentException($"DatasetReadOptions.MaxFieldLength must be positive (or null for no limit), got {max}.");
        if (MaxLineBytes is int maxLine && maxLine <= 0)
            throw new ArgumentException($"DatasetReadOptions.MaxLineBytes must be positive (or null for no limit), got {maxLine}.");
        if (!Enum.IsDefined(BadRecords))
            throw new ArgumentException($"DatasetReadOptions.BadRecords must be Fail or Skip, got {(int)BadRecords}.");
        return this;
    }
}

/// <summary>The records a reader returned, and the bad records it skipped (only under <see cref="BadRecordPolicy.Skip"/>).</summary>
/// <typeparam name="T">The record type.</typeparam>
/// <param name="Records">The records read, in file order.</param>
/// <param name="Skipped">One exception per skipped record, in file order (empty under <see cref="BadRecordPolicy.Fail"/>).</param>
public sealed record DatasetReadResult<T>(IReadOnlyList<T> Records, IReadOnlyList<DatasetFormatException> Skipped)
{
    /// <summary>Number of records read.</summary>
    public int Count => Records.Count;

    /// <summary>Number of records skipped.</summary>
    public int SkippedCount => Skipped.Count;
}
