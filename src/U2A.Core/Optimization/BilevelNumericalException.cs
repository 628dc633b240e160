namespace U2A.Core.Optimization;

/// <summary>
/// A loss, gradient or objective of the U2A loop was NaN or infinite. The model holds the last good parameters
/// (those before the failing step or outer iteration).
/// </summary>
public sealed class BilevelNumericalException : ArithmeticException
{
    /// <summary>Creates the exception.</summary>
    public BilevelNumericalException(BilevelPhase phase, int outerIteration, int step, string detail, Exception? inner = null)
        : base($"U2A stopped: {detail} in phase {phase}, outer iteration {outerIteration}{(step > 0 ? $", inner step {step}" : "")}; the last good parameters were restored.", inner)
    {
        Phase = phase; OuterIteration = outerIteration; Step = step;
    }

    /// <summary>The phase that failed.</summary>
    public BilevelPhase Phase { get; }
    /// <summary>The outer iteration (1-based; 0 at the start).</summary>
    public int OuterIteration { get; }
    /// <summary>The inner step (1-based), or 0 outside the inner loop.</summary>
    public int Step { get; }
}
