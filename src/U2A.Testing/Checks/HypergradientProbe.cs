namespace U2A.Testing;

/// <summary>One probed example of a <see cref="HypergradientCheck"/>.</summary>
/// <param name="Example">The pool index <c>i</c>.</param>
/// <param name="Score">The influence score <c>s_i = -dJ/dw_i</c>.</param>
/// <param name="Predicted">The predicted change of J, <c>-eta s_i</c>.</param>
/// <param name="Measured">The measured change, <c>J(theta - eta grad l_i(theta)) - J(theta)</c>.</param>
public sealed record HypergradientProbe(int Example, double Score, double Predicted, double Measured)
{
    /// <summary>Whether predicted and measured have the same sign (both zero counts as agreeing).</summary>
    public bool SignsAgree => Math.Sign(Predicted) == Math.Sign(Measured);
}
