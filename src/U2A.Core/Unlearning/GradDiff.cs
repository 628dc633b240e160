using U2A.Core.Data;
using U2A.Core.Models;

namespace U2A.Core.Unlearning;

/// <summary>
/// GradDiff, as a composition: gradient ascent on the forget examples (<see cref="GradAscent"/>) plus a retain term,
/// <c>L(theta; w) = sum_i w_i l_i + R(theta)</c> with <c>R</c> either <c>alpha * mean nll_mean</c> on a retain batch
/// (<see cref="RetainNll"/>, default alpha 1) or <c>alpha * KL(pi_theta || pi_ref)</c> on it (<see cref="RetainKl"/>, default alpha 0.3).
/// </summary>
/// <remarks>
/// The retain term is not part of <c>l_i</c>: example weights never scale it. The returned <see cref="InnerObjective"/> owns the
/// retain term it creates (dispose the objective); extra terms stay the caller's.
/// </remarks>
public static class GradDiff
{
    /// <summary>The name GradDiff objectives carry in logs and reports.</summary>
    public const string Name = "GradDiff";

    /// <summary>GradAscent plus <c>alpha * mean nll_mean</c> on <paramref name="retain"/>, plus <paramref name="extraTerms"/>.</summary>
    /// <exception cref="ArgumentException">alpha is negative or not finite, or the retain batch is empty.</exception>
    public static InnerObjective WithRetainNll(TokenBatch retain, double alpha = RetainNll.DefaultAlpha, IEnumerable<IInnerTerm>? extraTerms = null) =>
        Compose(new RetainNll(retain, alpha), extraTerms);

    /// <summary>GradAscent plus <c>alpha * KL(pi_theta || pi_ref)</c> on <paramref name="retain"/>, <c>pi_ref</c> being <paramref name="reference"/> now,
    /// plus <paramref name="extraTerms"/>.</summary>
    /// <exception cref="ArgumentException">alpha is negative or not finite, or the retain batch is empty or does not fit the reference model.</exception>
    public static InnerObjective WithRetainKl(ICausalLM reference, TokenBatch retain, double alpha = RetainKl.DefaultAlpha, IEnumerable<IInnerTerm>? extraTerms = null) =>
        Compose(new RetainKl(reference, retain, alpha), extraTerms);

    /// <summary>GradAscent plus a retain term of the caller's (which stays the caller's), plus <paramref name="extraTerms"/>.</summary>
    public static InnerObjective WithRetainTerm(IInnerTerm retainTerm, IEnumerable<IInnerTerm>? extraTerms = null)
    {
        ArgumentNullException.ThrowIfNull(retainTerm);
        return new InnerObjective(new GradAscent(), new[] { retainTerm }.Concat(extraTerms ?? Array.Empty<IInnerTerm>()), Name);
    }

    private static InnerObjective Compose(IInnerTerm owned, IEnumerable<IInnerTerm>? extraTerms)
    {
        try
        {
            return new InnerObjective(new GradAscent(), new[] { owned }.Concat(extraTerms ?? Array.Empty<IInnerTerm>()), Name, owned as IDisposable);
        }
        catch
        {
            (owned as IDisposable)?.Dispose();
            throw;
        }
    }
}
