using System.Diagnostics;

namespace U2A.Core.Optimization;

/// <summary>Wall time per phase of the outer loop.</summary>
internal sealed class PhaseClock
{
    private readonly Dictionary<BilevelPhase, TimeSpan> _totals = new();

    public IReadOnlyDictionary<BilevelPhase, TimeSpan> Totals => _totals;

    public T Time<T>(BilevelPhase phase, Func<T> work)
    {
        var sw = Stopwatch.StartNew();
        try { return work(); }
        finally { _totals[phase] = _totals.GetValueOrDefault(phase) + sw.Elapsed; }
    }

    public void Time(BilevelPhase phase, Action work) => Time(phase, () => { work(); return 0; });
}
