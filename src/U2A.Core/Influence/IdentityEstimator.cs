namespace U2A.Core.Influence;

/// <summary>
/// <c>H ~ gamma I</c>: <c>v = grad J / gamma</c>, so <c>s_i = &lt;grad l_i, grad J&gt; / gamma</c> (the U2A reference code,
/// gamma = 1; the paper's Proposition 3.1). One backward pass; exact when the inner Hessian is gamma times the identity.
/// </summary>
public sealed class IdentityEstimator : IHypergradientEstimator
{
    /// <summary>Creates the estimator.</summary>
    /// <param name="gamma">The assumed Hessian scale; must be positive.</param>
    public IdentityEstimator(double gamma = 1.0)
    {
        Require.Positive(gamma, "IdentityEstimator.gamma");
        Gamma = gamma;
    }

    /// <summary>The Hessian scale.</summary>
    public double Gamma { get; }

    /// <inheritdoc />
    public string Name => "identity";

    /// <inheritdoc />
    public InfluenceDirection Estimate(BilevelProblem problem, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var g = problem.ObjectiveGradient();
        var v = ParameterVector.Scale(g, 1.0 / Gamma);
        ParameterVector.DisposeAll(g);
        return new InfluenceDirection(new[] { new InfluenceTerm(null, v) },
            new Dictionary<string, double> { ["direction_norm"] = ParameterVector.Norm(v) });
    }
}
