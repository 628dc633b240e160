namespace U2A.Core.Influence;

/// <summary>
/// A hypergradient estimator: applies the inverse Hessian of the inner objective (or the derivative through the
/// inner optimiser) to <c>grad J</c>, so that influence scores are inner products with per-example gradients.
/// Implementations leave the problem's parameters exactly as they found them.
/// </summary>
public interface IHypergradientEstimator
{
    /// <summary>Short name for logs and reports.</summary>
    string Name { get; }

    /// <summary>Computes the influence direction at the problem's current parameters.</summary>
    InfluenceDirection Estimate(BilevelProblem problem, CancellationToken cancellationToken = default);
}
