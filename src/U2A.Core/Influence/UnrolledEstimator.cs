using static TorchSharp.torch;

namespace U2A.Core.Influence;

/// <summary>
/// The exact derivative of J through K steps of plain gradient descent on the inner objective, started from the current
/// parameters: <c>theta_{k+1} = theta_k - lr * grad L(theta_k; w)</c>, <c>k = 0..K-1</c>. Reverse mode gives
/// <code>
/// lambda_K = grad J(theta_K);   lambda_k = (I - lr H(theta_k)) lambda_{k+1}
/// s_i = -dJ(theta_K)/dw_i = lr * sum_k &lt;grad l_i(theta_k), lambda_{k+1}&gt;
/// </code>
/// K = 1 is the one-step lookahead <c>s_i = lr &lt;grad l_i(theta_0), grad J(theta_1)&gt;</c> (no second-order term).
/// Cost: K inner gradients, K - 1 Hessian-vector products, and K stored parameter copies. Parameters are restored exactly.
/// <para>The unrolled optimiser is full-batch gradient descent with its own <c>lr</c>, not the AdamW that
/// <see cref="Optimization.BilevelOptimizer"/> runs: an Adam step from fresh moments is <c>lr * g / (|g| + eps)</c>,
/// nearly <c>lr * sign(g)</c>, whose derivative with respect to the example weights is almost zero, so the exact
/// hypergradient through it carries no signal. Use <c>lr</c> of the size of the effective step of the real inner run.</para>
/// </summary>
public sealed class UnrolledEstimator : IHypergradientEstimator
{
    /// <summary>Creates the estimator.</summary>
    /// <param name="steps">K, the number of unrolled steps; at least 1.</param>
    /// <param name="learningRate">The inner step size lr; positive.</param>
    public UnrolledEstimator(int steps = 1, double learningRate = 1e-3)
    {
        Require.AtLeastOne(steps, "UnrolledEstimator.steps");
        Require.Positive(learningRate, "UnrolledEstimator.learningRate");
        Steps = steps; LearningRate = learningRate;
    }

    /// <summary>K.</summary>
    public int Steps { get; }
    /// <summary>lr.</summary>
    public double LearningRate { get; }

    /// <inheritdoc />
    public string Name => $"unrolled-{Steps}";

    /// <inheritdoc />
    public InfluenceDirection Estimate(BilevelProblem problem, CancellationToken cancellationToken = default)
    {
        var parameters = problem.Parameters;
        var start = ParameterVector.Clone(parameters);
        var iterates = new List<Tensor[]>();
        var terms = new List<InfluenceTerm>();
        Tensor[]? lambda = null;
        try
        {
            // Forward: theta_0 .. theta_{K-1} stored, theta_K left in the parameters.
            for (int k = 0; k < Steps; k++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                iterates.Add(ParameterVector.Clone(parameters));
                using var step = NewDisposeScope();
                var g = problem.Gradient(problem.InnerLossValue(), BilevelProblem.InnerLossName);
                ParameterVector.AddInPlace(parameters, g, -LearningRate);
            }
            lambda = problem.ObjectiveGradient();
            // Backward: term k pairs theta_k with lr * lambda_{k+1}; then lambda_k = lambda_{k+1} - lr H(theta_k) lambda_{k+1}.
            for (int k = Steps - 1; k >= 0; k--)
            {
                cancellationToken.ThrowIfCancellationRequested();
                terms.Add(new InfluenceTerm(iterates[k], ParameterVector.Scale(lambda, LearningRate)));
                if (k == 0) break;
                ParameterVector.CopyInto(parameters, iterates[k]);
                var hv = problem.InnerHessianVectorProduct(lambda);
                var next = ParameterVector.Add(lambda, hv, -LearningRate);
                ParameterVector.DisposeAll(hv);
                ParameterVector.DisposeAll(lambda);
                lambda = next;
            }
            ParameterVector.DisposeAll(lambda);
            lambda = null;
            return new InfluenceDirection(terms, new Dictionary<string, double> { ["steps"] = Steps });
        }
        catch
        {
            if (lambda is not null) ParameterVector.DisposeAll(lambda);
            foreach (var t in terms) ParameterVector.DisposeAll(t.Direction);
            foreach (var it in iterates) ParameterVector.DisposeAll(it);
            throw;
        }
        finally
        {
            ParameterVector.CopyInto(parameters, start);
            ParameterVector.DisposeAll(start);
        }
    }
}
