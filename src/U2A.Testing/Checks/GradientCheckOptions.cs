namespace U2A.Testing;

/// <summary>Settings of <see cref="GradientCheck"/>.</summary>
/// <remarks>
/// A coordinate passes when its absolute error is at most <see cref="AbsoluteTolerance"/> or its relative error
/// <c>|fd - autograd| / max(|fd|, |autograd|)</c> is at most <see cref="RelativeTolerance"/>. With float64 and the default step the
/// central difference's truncation error is about <c>step^2 |f'''|</c> (1e-12) and its rounding error about
/// <c>1e-16 |f| / step</c> (1e-10), far below the defaults.
/// </remarks>
public sealed record GradientCheckOptions
{
    /// <summary>How many coordinates (parameter elements) to check, spread round-robin over the parameters; default 16. All are checked when there are fewer.</summary>
    public int Coordinates { get; init; } = 16;

    /// <summary>The seed that picks the coordinates; default 0.</summary>
    public int Seed { get; init; }

    /// <summary>The finite-difference step h of <c>(f(x + h) - f(x - h)) / 2h</c>; default 1e-6.</summary>
    public double Step { get; init; } = 1e-6;

    /// <summary>Largest relative error allowed; default 1e-6.</summary>
    public double RelativeTolerance { get; init; } = 1e-6;

    /// <summary>Largest absolute error allowed (for near-zero derivatives); default 1e-9.</summary>
    public double AbsoluteTolerance { get; init; } = 1e-9;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first field out of range.</summary>
    public void Validate()
    {
        if (Coordinates < 1) throw new ArgumentOutOfRangeException(nameof(Coordinates), Coordinates, $"GradientCheckOptions.Coordinates must be at least 1, got {Coordinates}.");
        Positive(Step, nameof(Step));
        Positive(RelativeTolerance, nameof(RelativeTolerance));
        Positive(AbsoluteTolerance, nameof(AbsoluteTolerance));
    }

    private static void Positive(double value, string field)
    {
        if (!(value > 0) || double.IsInfinity(value))
            throw new ArgumentOutOfRangeException(field, value, $"GradientCheckOptions.{field} must be a positive finite number, got {value}.");
    }
}
