namespace U2A.Testing;

/// <summary>
/// Thrown by the checks of the test kit (<see cref="GradientCheck"/>, <see cref="HypergradientCheck"/>,
/// <see cref="UnlearnerContract"/>, <see cref="LiveTensorGuard"/>) when the code under test fails a check. Its message
/// names the check, the property that failed and the numbers. Any test framework reports an unhandled exception as a
/// failed test, so the kit needs none.
/// </summary>
public sealed class U2ACheckException : Exception
{
    /// <summary>A failed check described by <paramref name="message"/>.</summary>
    public U2ACheckException(string message) : base(message)
    {
    }

    /// <summary>A failed check described by <paramref name="message"/>, caused by <paramref name="innerException"/>.</summary>
    public U2ACheckException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
