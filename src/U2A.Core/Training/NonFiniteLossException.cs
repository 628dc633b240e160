namespace U2A.Core.Training;

/// <summary>
/// Thrown when a step's loss or gradient norm is NaN or infinite. The step is abandoned before the update:
/// parameters and optimizer state are those after the last completed step, and gradients are zeroed.
/// </summary>
public sealed class NonFiniteLossException : ArithmeticException
{
    /// <summary>Creates the exception for 0-based step <paramref name="step"/>.</summary>
    public NonFiniteLossException(int step, int? microBatch, string quantity, double value)
        : base($"Non-finite {quantity} ({value}) at step {step}{(microBatch is { } m ? $", micro-batch {m}" : "")}; the step was not applied and the parameters are those after the last completed step.")
    {
        Step = step;
        MicroBatch = microBatch;
        Quantity = quantity;
        Value = value;
    }

    /// <summary>The 0-based step whose loss or gradient was not finite.</summary>
    public int Step { get; }

    /// <summary>The micro-batch whose loss was not finite, or null for the gradient norm.</summary>
    public int? MicroBatch { get; }

    /// <summary>"loss" or "gradient norm".</summary>
    public string Quantity { get; }

    /// <summary>The offending value.</summary>
    public double Value { get; }
}
