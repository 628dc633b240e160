namespace U2A.Core.Unlearning;

/// <summary>Options of <see cref="ParameterRegularizer"/>.</summary>
/// <param name="Lambda">Weight <c>lambda</c> &gt;= 0; default 0.1 (the U2A reference code).</param>
public sealed record ParameterRegularizerOptions(double Lambda = 0.1)
{
    /// <summary>Throws when a field is out of range, naming it.</summary>
    public void Validate() => Require.NonNegative(Lambda, "ParameterRegularizerOptions.Lambda");
}
