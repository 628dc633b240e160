using System.Globalization;

namespace U2A.Testing;

/// <summary>The result of a <see cref="GradientCheck"/>: every checked coordinate, the largest errors and the worst coordinate.</summary>
public sealed class GradientCheckReport
{
    internal GradientCheckReport(IReadOnlyList<GradientCheckCoordinate> coordinates, GradientCheckOptions options, IReadOnlyList<string> problems)
    {
        Coordinates = coordinates;
        Options = options;
        Problems = problems;
        MaxAbsoluteError = coordinates.Count == 0 ? 0 : coordinates.Max(c => c.AbsoluteError);
        MaxRelativeError = coordinates.Count == 0 ? 0 : coordinates.Max(c => c.RelativeError);
        // The worst coordinate: the one furthest outside (or least inside) its tolerances.
        Worst = coordinates.Count == 0 ? null : coordinates.MaxBy(c => Math.Min(c.AbsoluteError / options.AbsoluteTolerance, c.RelativeError / options.RelativeTolerance));
    }

    /// <summary>Every checked coordinate, in the order checked.</summary>
    public IReadOnlyList<GradientCheckCoordinate> Coordinates { get; }

    /// <summary>The options the check ran with.</summary>
    public GradientCheckOptions Options { get; }

    /// <summary>Failures that are not about one coordinate (f has no autograd graph, f is not deterministic).</summary>
    public IReadOnlyList<string> Problems { get; }

    /// <summary>Number of coordinates checked.</summary>
    public int CoordinatesChecked => Coordinates.Count;

    /// <summary>The largest absolute error.</summary>
    public double MaxAbsoluteError { get; }

    /// <summary>The largest relative error.</summary>
    public double MaxRelativeError { get; }

    /// <summary>The coordinate furthest outside its tolerances (the worst one), or null when none was checked.</summary>
    public GradientCheckCoordinate? Worst { get; }

    /// <summary>Whether every coordinate passed and there was no other problem.</summary>
    public bool Passed => Problems.Count == 0 && Coordinates.All(c => c.Passed);

    /// <summary>Throws <see cref="U2ACheckException"/> with <see cref="ToString"/> as its message unless <see cref="Passed"/>.</summary>
    public void ThrowIfFailed()
    {
        if (!Passed) throw new U2ACheckException(ToString());
    }

    /// <summary>A readable summary: the verdict, the errors, the worst coordinate and the problems.</summary>
    public override string ToString()
    {
        var c = CultureInfo.InvariantCulture;
        int failed = Coordinates.Count(x => !x.Passed);
        var text = $"GradientCheck {(Passed ? "passed" : "FAILED")}: {CoordinatesChecked} coordinates, {failed} outside tolerance " +
            $"(relative {Options.RelativeTolerance.ToString("G3", c)}, absolute {Options.AbsoluteTolerance.ToString("G3", c)}); " +
            $"max absolute error {MaxAbsoluteError.ToString("G3", c)}, max relative error {MaxRelativeError.ToString("G3", c)}";
        if (Worst is { } w)
            text += $"; worst: {w.Location}, finite difference {w.FiniteDifference.ToString("G6", c)} vs autograd {w.Autograd.ToString("G6", c)}";
        foreach (var p in Problems) text += $"; {p}";
        return text + ".";
    }
}
