using static TorchSharp.torch;

namespace U2A.Core.Influence;

/// <summary>
/// Truncated Neumann series (LiSSA without sampling): <c>H^-1 g ~ alpha * sum_{j=0..J} (I - alpha H)^j g</c>.
/// Converges when <c>0 &lt; alpha * lambda &lt; 2</c> for every eigenvalue lambda of H; the truncation error after J
/// terms is <c>(I - alpha H)^(J+1) H^-1 g</c>. One Hessian-vector product per term. A divergence guard stops with an
/// exception (naming alpha) when a term grows past <see cref="DivergenceFactor"/> times the first.
/// Reports the relative size of the last term ("last_term") as a convergence indicator.
/// </summary>
public sealed class NeumannEstimator : IHypergradientEstimator
{
    /// <summary>Creates the estimator.</summary>
    /// <param name="alpha">Step size; positive and below 2 / lambda_max(H).</param>
    /// <param name="iterations">Number of terms after the first; at least 1.</param>
    /// <param name="divergenceFactor">Guard: a term larger than this times ||g|| means divergence.</param>
    public NeumannEstimator(double alpha, int iterations = 50, double divergenceFactor = 1e4)
    {
        Require.Positive(alpha, "NeumannEstimator.alpha");
        Require.AtLeastOne(iterations, "NeumannEstimator.iterations");
        if (!(divergenceFactor > 1)) throw new ArgumentOutOfRangeException(nameof(divergenceFactor), divergenceFactor, "divergenceFactor must exceed 1.");
        Alpha = alpha; Iterations = iterations; DivergenceFactor = divergenceFactor;
    }

    /// <summary>Step size alpha.</summary>
    public double Alpha { get; }
    /// <summary>Number of terms after the first.</summary>
    public int Iterations { get; }
    /// <summary>Divergence guard factor.</summary>
    public double DivergenceFactor { get; }

    /// <inheritdoc />
    public string Name => "neumann";

    /// <inheritdoc />
    public InfluenceDirection Estimate(BilevelProblem problem, CancellationToken cancellationToken = default)
    {
        using var scope = NewDisposeScope();
        var g = problem.ObjectiveGradient();
        double gNorm = ParameterVector.Norm(g);
        var sum = ParameterVector.Clone(g);
        var term = ParameterVector.Clone(g);
        double last = gNorm == 0 ? 0 : 1;
        for (int j = 1; j <= Iterations && gNorm > 0; j++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var step = NewDisposeScope();
            var hv = problem.InnerHessianVectorProduct(term);
            ParameterVector.AddInPlace(term, hv, -Alpha);
            ParameterVector.AddInPlace(sum, term);
            double termNorm = ParameterVector.Norm(term);
            last = termNorm / gNorm;
            if (!double.IsFinite(termNorm) || last > DivergenceFactor)
                throw new InvalidOperationException($"Neumann series diverges at term {j} (||term|| / ||grad J|| = {last:G4}): alpha = {Alpha} is too large for the inner Hessian; use alpha < 2 / lambda_max(H).");
        }
        var v = ParameterVector.Scale(sum, Alpha);
        ParameterVector.MoveToOuter(v);
        return new InfluenceDirection(new[] { new InfluenceTerm(null, v) }, new Dictionary<string, double>
        {
            ["iterations"] = Iterations, ["last_term"] = last, ["gradient_norm"] = gNorm, ["direction_norm"] = ParameterVector.Norm(v),
        });
    }
}
