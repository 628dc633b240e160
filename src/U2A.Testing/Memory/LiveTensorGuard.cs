using System.Globalization;
using TorchSharp;

namespace U2A.Testing;

/// <summary>
/// Catches tensor leaks: compares TorchSharp's count of live tensors created on this thread
/// (<c>DisposeScopeManager.Statistics.ThreadTotalLiveCount</c>) before and after the guarded work.
/// </summary>
/// <remarks>
/// <code>
/// using (var guard = LiveTensorGuard.Start())
/// {
///     RunOneStep();          // must dispose (or leave in a dispose scope) every tensor it makes
/// }                          // Dispose checks: throws U2ACheckException when more tensors are alive than at Start
/// </code>
/// The count is per thread, so work on other threads (other tests) does not disturb it; run the guarded work on the test's thread.
/// Work that legitimately keeps tensors (a cache filled once) is either warmed up before <see cref="Start"/> or given an allowance;
/// <see cref="CheckNoSteadyGrowth"/> does the warm-up and repeats the work. Dispose throws when the check fails; when the guarded
/// code may itself throw, call <see cref="Check"/> explicitly at the end of the block, so that its exception is not replaced.
/// </remarks>
public sealed class LiveTensorGuard : IDisposable
{
    private bool _disposed;

    private LiveTensorGuard(long allowedGrowth, string label)
    {
        AllowedGrowth = allowedGrowth;
        Label = label;
        Baseline = LiveCount;
    }

    /// <summary>The number of live tensors created on this thread now.</summary>
    public static long LiveCount => DisposeScopeManager.Statistics.ThreadTotalLiveCount;

    /// <summary>Starts guarding: records the live tensor count.</summary>
    /// <param name="allowedGrowth">How many more live tensors than now are allowed at the check; non-negative, default 0.</param>
    /// <param name="label">Names the guarded work in the failure message.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="allowedGrowth"/> is negative.</exception>
    public static LiveTensorGuard Start(long allowedGrowth = 0, string label = "the guarded work")
    {
        if (allowedGrowth < 0) throw new ArgumentOutOfRangeException(nameof(allowedGrowth), allowedGrowth, $"allowedGrowth must be non-negative, got {allowedGrowth}.");
        ArgumentException.ThrowIfNullOrWhiteSpace(label);
        return new LiveTensorGuard(allowedGrowth, label);
    }

    /// <summary>The live tensor count at <see cref="Start"/>.</summary>
    public long Baseline { get; }

    /// <summary>The allowed growth.</summary>
    public long AllowedGrowth { get; }

    /// <summary>What the failure message calls the guarded work.</summary>
    public string Label { get; }

    /// <summary>The live tensor count now minus at <see cref="Start"/>.</summary>
    public long Growth => LiveCount - Baseline;

    /// <summary>Throws <see cref="U2ACheckException"/> when <see cref="Growth"/> exceeds <see cref="AllowedGrowth"/>.</summary>
    public void Check()
    {
        long now = LiveCount;
        if (now - Baseline > AllowedGrowth)
            throw new U2ACheckException($"LiveTensorGuard: {Label} left {now - Baseline} more live tensors than at the start ({Baseline} -> {now}; " +
                $"allowed growth {AllowedGrowth}). Some tensor is neither disposed nor in a dispose scope: wrap each step in " +
                "`using var scope = torch.NewDisposeScope();` and move only its results out with MoveToOuterDisposeScope().");
    }

    /// <summary>Checks (once) and stops guarding.</summary>
    /// <exception cref="U2ACheckException">The live tensor count grew beyond the allowance.</exception>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Check();
    }

    /// <summary>
    /// Runs <paramref name="action"/> <paramref name="warmUpIterations"/> times (caches fill, lazily created tensors appear), then
    /// <paramref name="iterations"/> times more, reading the live tensor count after each, and fails when the count after the last
    /// exceeds the count after warm-up by more than <paramref name="allowedGrowth"/>: a leak of k tensors per call shows as growth
    /// of k times <paramref name="iterations"/>.
    /// </summary>
    /// <returns>The live tensor counts after warm-up and after each measured iteration (<paramref name="iterations"/> + 1 values).</returns>
    /// <exception cref="U2ACheckException">The count grew; the message lists every count.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An iteration count or the allowance is out of range.</exception>
    public static long[] CheckNoSteadyGrowth(Action action, int iterations = 10, int warmUpIterations = 2, long allowedGrowth = 0, string label = "the action")
    {
        ArgumentNullException.ThrowIfNull(action);
        if (iterations < 1) throw new ArgumentOutOfRangeException(nameof(iterations), iterations, $"iterations must be at least 1, got {iterations}.");
        if (warmUpIterations < 0) throw new ArgumentOutOfRangeException(nameof(warmUpIterations), warmUpIterations, $"warmUpIterations must be non-negative, got {warmUpIterations}.");
        if (allowedGrowth < 0) throw new ArgumentOutOfRangeException(nameof(allowedGrowth), allowedGrowth, $"allowedGrowth must be non-negative, got {allowedGrowth}.");
        for (int i = 0; i < warmUpIterations; i++) action();
        var counts = new long[iterations + 1];
        counts[0] = LiveCount;
        for (int i = 1; i <= iterations; i++)
        {
            action();
            counts[i] = LiveCount;
        }
        long growth = counts[^1] - counts[0];
        if (growth > allowedGrowth)
            throw new U2ACheckException(string.Create(CultureInfo.InvariantCulture,
                $"LiveTensorGuard: {label} leaks tensors: the live tensor count grew by {growth} over {iterations} iterations after {warmUpIterations} of warm-up " +
                $"({(double)growth / iterations:G3} per iteration; allowed growth {allowedGrowth}); counts: {string.Join(" ", counts)}."));
        return counts;
    }
}
