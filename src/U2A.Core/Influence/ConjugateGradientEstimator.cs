using static TorchSharp.torch;

namespace U2A.Core.Influence;

/// <summary>
/// Damped conjugate gradient on <c>(H + damping I) v = grad J</c> with Hessian-vector products of the inner objective
/// (double backward, about two backward passes per iteration). Reports its iterations and relative residual
/// <c>||(H + damping I) v - grad J|| / ||grad J||</c>. Throws when the damped Hessian is not positive definite along a
/// search direction (raise the damping), instead of returning a meaningless solution.
/// </summary>
public sealed class ConjugateGradientEstimator : IHypergradientEstimator
{
    /// <summary>Creates the estimator.</summary>
    /// <param name="damping">Added to the Hessian's diagonal; non-negative.</param>
    /// <param name="tolerance">Stop when the relative residual is at most this; positive.</param>
    /// <param name="maxIterations">Iteration cap; at least 1.</param>
    public ConjugateGradientEstimator(double damping = 0.0, double tolerance = 1e-8, int maxIterations = 100)
    {
        Require.NonNegative(damping, "ConjugateGradientEstimator.damping");
        Require.Positive(tolerance, "ConjugateGradientEstimator.tolerance");
        Require.AtLeastOne(maxIterations, "ConjugateGradientEstimator.maxIterations");
        Damping = damping; Tolerance = tolerance; MaxIterations = maxIterations;
    }

    /// <summary>Diagonal damping.</summary>
    public double Damping { get; }
    /// <summary>Relative residual tolerance.</summary>
    public double Tolerance { get; }
    /// <summary>Iteration cap.</summary>
    public int MaxIterations { get; }

    /// <inheritdoc />
    public string Name => "conjugate-gradient";

    /// <inheritdoc />
    public InfluenceDirection Estimate(BilevelProblem problem, CancellationToken cancellationToken = default)
    {
        using var scope = NewDisposeScope();
        var g = problem.ObjectiveGradient();
        double gNorm = ParameterVector.Norm(g);
        var x = ParameterVector.ZerosLike(g);
        if (gNorm == 0)
        {
            ParameterVector.MoveToOuter(x);
            return new InfluenceDirection(new[] { new InfluenceTerm(null, x) },
                new Dictionary<string, double> { ["iterations"] = 0, ["residual"] = 0, ["gradient_norm"] = 0, ["direction_norm"] = 0 });
        }
        var r = ParameterVector.Clone(g);
        var p = ParameterVector.Clone(g);
        double rs = gNorm * gNorm;
        int iterations = 0;
        double residual = 1.0;
        while (iterations < MaxIterations && residual > Tolerance)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var step = NewDisposeScope();
            var hp = problem.InnerHessianVectorProduct(p);
            var ap = Damping == 0 ? hp : ParameterVector.Add(hp, p, Damping);
            double curvature = ParameterVector.Dot(p, ap);
            if (!(curvature > 0))
                throw new InvalidOperationException($"conjugate gradient: the damped inner Hessian is not positive definite along the search direction at iteration {iterations + 1} (p'(H + {Damping} I)p = {curvature:G6}); raise the damping.");
            double alpha = rs / curvature;
            ParameterVector.AddInPlace(x, p, alpha);
            ParameterVector.AddInPlace(r, ap, -alpha);
            double rsNew = ParameterVector.Dot(r, r);
            iterations++;
            residual = Math.Sqrt(rsNew) / gNorm;
            using (no_grad())
                for (int i = 0; i < p.Length; i++) p[i].mul_(rsNew / rs).add_(r[i]);
            rs = rsNew;
        }
        ParameterVector.MoveToOuter(x);
        return new InfluenceDirection(new[] { new InfluenceTerm(null, x) }, new Dictionary<string, double>
        {
            ["iterations"] = iterations, ["residual"] = residual, ["gradient_norm"] = gNorm, ["direction_norm"] = ParameterVector.Norm(x),
        });
    }
}
