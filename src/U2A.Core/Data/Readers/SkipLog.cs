using Microsoft.Extensions.Logging;

namespace U2A.Core.Data;

/// <summary>Applies the bad-record policy: rethrows, or counts and logs the skip.</summary>
internal sealed class SkipLog(string file, DatasetReadOptions options)
{
    private readonly List<DatasetFormatException> _skipped = [];

    public IReadOnlyList<DatasetFormatException> Skipped => _skipped;

    public void Handle(DatasetFormatException ex)
    {
        if (options.BadRecords == BadRecordPolicy.Fail || ex.FailsUnderEveryPolicy) throw ex;
        _skipped.Add(ex);
        options.Logger?.LogWarning("Skipped a bad record: {Message}", ex.Message);
    }

    public void Finish(int read)
    {
        if (_skipped.Count > 0)
            options.Logger?.LogWarning("{File}: read {Read} records, skipped {Skipped} bad records", file, read, _skipped.Count);
    }
}
