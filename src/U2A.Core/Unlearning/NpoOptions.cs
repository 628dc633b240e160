namespace U2A.Core.Unlearning;

/// <summary>Options of <see cref="Npo"/>.</summary>
/// <param name="Beta">Inverse temperature <c>beta</c> &gt; 0; default 0.1 (the NPO paper and the U2A reference code).</param>
/// <param name="Form">Summed log-probs (default) or token-mean NLL.</param>
public sealed record NpoOptions(double Beta = 0.1, NpoForm Form = NpoForm.SummedLogProbs)
{
    /// <summary>Throws when a field is out of range, naming it.</summary>
    public void Validate()
    {
        Require.Positive(Beta, "NpoOptions.Beta");
        Require.Defined(Form, "NpoOptions.Form");
    }
}
