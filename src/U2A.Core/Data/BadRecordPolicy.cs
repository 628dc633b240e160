namespace U2A.Core.Data;

/// <summary>What a reader does with a record it cannot read.</summary>
public enum BadRecordPolicy
{
    /// <summary>Throw a <see cref="DatasetFormatException"/> (the default).</summary>
    Fail,

    /// <summary>Skip the record, count it in <see cref="DatasetReadResult{T}.Skipped"/> and log it (warning) through <see cref="DatasetReadOptions.Logger"/>.</summary>
    Skip,
}
