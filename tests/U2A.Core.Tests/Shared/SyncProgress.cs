namespace U2A.Core.Tests.Shared;

/// <summary>
/// An <see cref="IProgress{T}"/> that reports synchronously on the caller's thread (<see cref="Progress{T}"/> posts to the
/// thread pool, so a test could assert before its reports arrive).
/// </summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
