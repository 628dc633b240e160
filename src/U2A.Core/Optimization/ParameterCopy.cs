using U2A.Core.Influence;
using static TorchSharp.torch;

namespace U2A.Core.Optimization;

/// <summary>A detached copy of parameters, to put back when an outer iteration fails.</summary>
internal sealed class ParameterCopy(IReadOnlyList<Tensor> parameters) : IDisposable
{
    private readonly Tensor[] _values = DetachAll(ParameterVector.Clone(parameters));

    public void Restore() => ParameterVector.CopyInto(parameters, _values);

    public void Dispose() => ParameterVector.DisposeAll(_values);

    /// <summary>
    /// Runs <paramref name="work"/>; on any failure but cancellation (a non-finite value, an estimator that diverged, ...)
    /// puts the copied parameters back, then rethrows. Cancellation keeps the last completed step, as documented.
    /// </summary>
    public T Guard<T>(Func<T> work)
    {
        try
        {
            return work();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Restore();
            throw;
        }
    }

    private static Tensor[] DetachAll(Tensor[] t)
    {
        foreach (var x in t) x.DetachFromDisposeScope();
        return t;
    }
}
