namespace U2A.Core.Unlearning;

/// <summary>Options of <see cref="SimNpo"/>.</summary>
/// <param name="Beta">Inverse temperature <c>beta</c> &gt; 0; default 4.5 (open-unlearning).</param>
/// <param name="Delta">Margin <c>delta</c> on the token-mean NLL; default 0 (open-unlearning).</param>
public sealed record SimNpoOptions(double Beta = 4.5, double Delta = 0.0)
{
    /// <summary>Throws when a field is out of range, naming it.</summary>
    public void Validate()
    {
        Require.Positive(Beta, "SimNpoOptions.Beta");
        Require.Finite(Delta, "SimNpoOptions.Delta");
    }
}
