using U2A.Core.Data;
using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Core.Unlearning;

/// <summary>
/// GradDiff: gradient ascent on the forget examples plus a retain term in the inner objective,
/// <c>L(theta; w) = sum_i w_i l_i + R(theta)</c> with <c>l_i = -nll_mean(y_i | x_i)</c> (as <see cref="GradAscent"/>) and
/// <c>R</c> either <c>alpha * mean nll_mean</c> on a retain batch (<see cref="RetainNll"/>, default alpha 1) or
/// <c>alpha * KL(pi_theta || pi_ref)</c> on it (<see cref="RetainKl"/>, default alpha 0.3).
/// </summary>
/// <remarks>The retain term is not part of <c>l_i</c>: example weights never scale it. GradDiff owns its retain term and disposes it.</remarks>
public sealed class GradDiff : IUnlearner, IDisposable
{
    private readonly GradAscent _ascent = new();

    /// <summary>GradDiff with a retain term of the caller's (which GradDiff then owns).</summary>
    public GradDiff(IInnerTerm retainTerm)
    {
        RetainTerm = retainTerm ?? throw new ArgumentNullException(nameof(retainTerm));
        InnerTerms = new[] { retainTerm };
    }

    /// <summary>GradDiff with <c>alpha * mean nll_mean</c> on <paramref name="retain"/>.</summary>
    public static GradDiff WithRetainNll(TokenBatch retain, double alpha = RetainNll.DefaultAlpha) => new(new RetainNll(retain, alpha));

    /// <summary>GradDiff with <c>alpha * KL(pi_theta || pi_ref)</c> on <paramref name="retain"/>, <c>pi_ref</c> being <paramref name="reference"/> now.</summary>
    public static GradDiff WithRetainKl(ICausalLM reference, TokenBatch retain, double alpha = RetainKl.DefaultAlpha) => new(new RetainKl(reference, retain, alpha));

    /// <summary>The retain term.</summary>
    public IInnerTerm RetainTerm { get; }

    /// <inheritdoc />
    public string Name => "GradDiff";

    /// <inheritdoc />
    public bool NeedsReference => false;

    /// <inheritdoc />
    public IReadOnlyList<IInnerTerm> InnerTerms { get; }

    /// <inheritdoc />
    public Tensor PerExampleLoss(SequenceLogProbs policy, SequenceLogProbs? reference) => _ascent.PerExampleLoss(policy, reference);

    /// <inheritdoc />
    public void Dispose() => (RetainTerm as IDisposable)?.Dispose();
}
