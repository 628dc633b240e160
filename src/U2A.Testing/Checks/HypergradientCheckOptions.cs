using U2A.Core.Influence;
using U2A.Core.Optimization;

namespace U2A.Testing;

/// <summary>Settings of <see cref="HypergradientCheck"/>.</summary>
public sealed record HypergradientCheckOptions
{
    /// <summary>The step size <c>eta</c> of the probing inner gradient step <c>theta - eta grad l_i</c>; default 1e-4 (small enough that the second-order term, <c>eta^2 grad l_i^T H_J grad l_i / 2</c>, stays a few percent of the first on the tiny models, large enough for float64).</summary>
    public double StepSize { get; init; } = 1e-4;

    /// <summary>The pool examples to probe; null (default) for the first <see cref="MaxExamples"/>.</summary>
    public IReadOnlyList<int>? Examples { get; init; }

    /// <summary>How many examples to probe when <see cref="Examples"/> is null; default 8.</summary>
    public int MaxExamples { get; init; } = 8;

    /// <summary>
    /// The weights <c>w</c> over the whole pool (one per example, non-negative): the inner problem's weights for
    /// <see cref="UnlearningProblem"/>s (<c>AtWeights</c>), and the weights of the pool probe (a step on <c>sum_i w_i l_i</c> over the probed
    /// examples). Null (default): uniform, 1/N each.
    /// </summary>
    public IReadOnlyList<double>? Weights { get; init; }

    /// <summary>For <see cref="UnlearningProblem"/>s: the Hessian sample size of <c>AtWeights</c>; null (default) for the whole pool.</summary>
    public int? HessianBatchSize { get; init; }

    /// <summary>For <see cref="UnlearningProblem"/>s: the seed of the Hessian sample; default 0.</summary>
    public int Seed { get; init; }

    /// <summary>For <see cref="UnlearningProblem"/>s: the scorer of the influence scores; null (default) for <see cref="ScoringMethod.PerExampleLoop"/>, the exact reference.</summary>
    public InfluenceScorer? Scorer { get; init; }

    /// <summary>The smallest fraction of probes whose predicted and measured changes of J have the same sign; default 0.9.</summary>
    public double MinimumSignAgreement { get; init; } = 0.9;

    /// <summary>The smallest Pearson correlation of predicted and measured changes (checked with three probes or more); default 0.9.</summary>
    public double MinimumCorrelation { get; init; } = 0.9;

    /// <summary>
    /// The largest <c>max_i |predicted_i - measured_i| / max_i |measured_i|</c>; null (default) to leave magnitudes unchecked. Set it only for
    /// an estimator whose direction is <c>grad J</c> itself (<c>IdentityEstimator(1)</c>): other estimators precondition <c>grad J</c>, which
    /// rescales the prediction of a plain gradient step.
    /// </summary>
    public double? MaxRelativeError { get; init; }

    /// <summary>Whether the pool probe's predicted and measured changes must agree in sign; default true.</summary>
    public bool RequirePoolSignAgreement { get; init; } = true;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first field out of range.</summary>
    public void Validate()
    {
        if (!(StepSize > 0) || double.IsInfinity(StepSize)) throw new ArgumentOutOfRangeException(nameof(StepSize), StepSize, $"HypergradientCheckOptions.StepSize must be a positive finite number, got {StepSize}.");
        if (MaxExamples < 1) throw new ArgumentOutOfRangeException(nameof(MaxExamples), MaxExamples, $"HypergradientCheckOptions.MaxExamples must be at least 1, got {MaxExamples}.");
        if (Examples is { Count: 0 }) throw new ArgumentOutOfRangeException(nameof(Examples), 0, "HypergradientCheckOptions.Examples must not be empty (null probes the first MaxExamples).");
        if (Examples is not null && Examples.Distinct().Count() != Examples.Count) throw new ArgumentOutOfRangeException(nameof(Examples), "HypergradientCheckOptions.Examples lists an example twice.");
        if (HessianBatchSize is < 1) throw new ArgumentOutOfRangeException(nameof(HessianBatchSize), HessianBatchSize, $"HypergradientCheckOptions.HessianBatchSize must be at least 1, got {HessianBatchSize}.");
        if (!(MinimumSignAgreement >= 0 && MinimumSignAgreement <= 1)) throw new ArgumentOutOfRangeException(nameof(MinimumSignAgreement), MinimumSignAgreement, $"HypergradientCheckOptions.MinimumSignAgreement must be in [0, 1], got {MinimumSignAgreement}.");
        if (!(MinimumCorrelation >= -1 && MinimumCorrelation <= 1)) throw new ArgumentOutOfRangeException(nameof(MinimumCorrelation), MinimumCorrelation, $"HypergradientCheckOptions.MinimumCorrelation must be in [-1, 1], got {MinimumCorrelation}.");
        if (MaxRelativeError is { } e && (!(e > 0) || double.IsInfinity(e))) throw new ArgumentOutOfRangeException(nameof(MaxRelativeError), e, $"HypergradientCheckOptions.MaxRelativeError must be a positive finite number, got {e}.");
        if (Weights is not null && Weights.Any(w => !(w >= 0) || double.IsInfinity(w))) throw new ArgumentOutOfRangeException(nameof(Weights), "HypergradientCheckOptions.Weights must be finite and non-negative.");
    }
}
