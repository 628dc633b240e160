namespace U2A.Testing;

/// <summary>One checked coordinate of a <see cref="GradientCheck"/>.</summary>
/// <param name="ParameterIndex">The index of the parameter in the checked list.</param>
/// <param name="Element">The element's index within the parameter (one entry per dimension; empty for a scalar).</param>
/// <param name="FiniteDifference">The central difference <c>(f(x + h) - f(x - h)) / 2h</c>.</param>
/// <param name="Autograd">The autograd derivative.</param>
/// <param name="AbsoluteError"><c>|FiniteDifference - Autograd|</c>.</param>
/// <param name="RelativeError"><c>AbsoluteError / max(|FiniteDifference|, |Autograd|)</c> (0 when both are 0).</param>
/// <param name="Passed">Whether the error is within the absolute or the relative tolerance.</param>
public sealed record GradientCheckCoordinate(int ParameterIndex, IReadOnlyList<long> Element, double FiniteDifference, double Autograd,
    double AbsoluteError, double RelativeError, bool Passed)
{
    /// <summary>"parameter 3 [1, 2]".</summary>
    public string Location => $"parameter {ParameterIndex} [{string.Join(", ", Element)}]";
}
