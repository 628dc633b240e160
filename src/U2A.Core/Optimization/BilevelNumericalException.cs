namespace U2A.Core.Optimization;

/// <summary>
/// A loss, gradient, influence score or objective of the U2A loop was NaN or infinite. The model holds the last good
/// parameters: those at the start of the failing outer iteration (the starting parameters when it failed before the
/// first inner run), whose J and PA score were finite.
/// </summary>
public sealed class BilevelNumericalException : ArithmeticException
{
    /// <summary>Creates the exception.</summary>
    public BilevelNumericalException(BilevelPhase phase, int outerIteration, int step, string detail, Exception? inner = null)
        : base($"U2A stopped: {detail} in phase {phase}, outer iteration {outerIteration}{(step > 0 ? $", inner step {step}" : "")}; the parameters of the start of that outer iteration were restored.", inner)
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
