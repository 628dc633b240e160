namespace U2A.Core.Data;

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
