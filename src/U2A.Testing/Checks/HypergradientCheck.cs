using U2A.Core.Influence;
using U2A.Core.Optimization;
using static TorchSharp.torch;

namespace U2A.Testing;

/// <summary>
/// Checks influence scores against what they claim: the change of the alignment objective J when an example is unlearned a little.
/// </summary>
/// <remarks>
/// <para>What is compared. With the sign convention of U2A.Core, the influence score is <c>s_i = &lt;grad l_i, v&gt; = -dJ/dw_i</c>
/// (<c>v</c> the estimator's direction, about <c>H^-1 grad J</c>): a positive score means that unlearning example i more lowers J.
/// For each probed example i, starting each time from the same parameters <c>theta</c>:</para>
/// <list type="bullet">
/// <item>measured: <c>dJ_i = J(theta - eta grad l_i(theta)) - J(theta)</c>, one plain gradient step of size <c>eta</c>
/// (<see cref="HypergradientCheckOptions.StepSize"/>) on example i's loss alone;</item>
/// <item>predicted: <c>-eta s_i</c>.</item>
/// </list>
/// <para>By Taylor's theorem the measured change is <c>-eta &lt;grad J, grad l_i&gt; + O(eta^2)</c>, so with <c>v = grad J</c>
/// (<c>IdentityEstimator(1)</c>) prediction and measurement agree to first order in <c>eta</c>; other estimators precondition
/// <c>grad J</c>, which rescales the prediction, so for them the sign agreement and the correlation over the probes are what is
/// meaningful (a direction of the wrong sign gives a correlation near -1). A pool probe does the same for one step on
/// <c>sum_i w_i l_i</c> over the probed examples (predicted <c>-eta sum_i w_i s_i</c>). J is evaluated without gradients, in float64;
/// the parameters are restored exactly after each probe and at the end.</para>
/// </remarks>
public static class HypergradientCheck
{
    /// <summary>
    /// Checks <paramref name="estimator"/> on the problem at weights <see cref="HypergradientCheckOptions.Weights"/> (uniform when null) over
    /// the whole pool, scoring with <see cref="HypergradientCheckOptions.Scorer"/> (the exact per-example loop when null).
    /// </summary>
    /// <exception cref="ArgumentException">The model's parameters are not float64, or an example or the weights do not fit the pool.</exception>
    /// <exception cref="U2ACheckException">An example's loss or J cannot be differentiated or evaluated (the message says which).</exception>
    public static HypergradientCheckReport Run(UnlearningProblem problem, IHypergradientEstimator estimator, HypergradientCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(estimator);
        options ??= new HypergradientCheckOptions();
        options.Validate();
        int n = problem.Pool.Count;
        Autograd.CheckParameters(problem.Model.TrainableParameters.Cast<Tensor>().ToArray(), "problem.Model.TrainableParameters", "HypergradientCheck", requireFloat64: true);
        var weights = Weights(options, n);
        var atWeights = problem.AtWeights(Enumerable.Range(0, n).ToArray(), weights, options.HessianBatchSize ?? n, options.Seed);
        return Run(atWeights, estimator, options.Scorer ?? new InfluenceScorer(ScoringMethod.PerExampleLoop), options);
    }

    /// <summary>Checks <paramref name="estimator"/> with <paramref name="scorer"/> on a bilevel problem (its parameters must be float64).</summary>
    /// <exception cref="ArgumentException">The parameters are not float64, or an example or the weights do not fit the problem.</exception>
    /// <exception cref="U2ACheckException">An example's loss or J cannot be differentiated or evaluated (the message says which).</exception>
    public static HypergradientCheckReport Run(BilevelProblem problem, IHypergradientEstimator estimator, InfluenceScorer scorer, HypergradientCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(estimator);
        ArgumentNullException.ThrowIfNull(scorer);
        options ??= new HypergradientCheckOptions();
        options.Validate();
        var parameters = problem.Parameters;
        Autograd.CheckParameters(parameters, "problem.Parameters", "HypergradientCheck", requireFloat64: true);
        int n = problem.ExampleCount;
        var examples = (options.Examples ?? Enumerable.Range(0, Math.Min(n, options.MaxExamples)).ToArray()).ToArray();
        foreach (int i in examples)
            if (i < 0 || i >= n) throw new ArgumentOutOfRangeException(nameof(options), i, $"HypergradientCheckOptions.Examples holds {i}, outside the problem's {n} examples.");
        var weights = Weights(options, n);
        double eta = options.StepSize;

        var start = Autograd.Snapshot(parameters);
        Tensor[]? poolGradient = null;
        try
        {
            double[] scores;
            using (var direction = estimator.Estimate(problem))
                scores = scorer.Score(problem, direction, examples.Select(i => (long)i).ToArray());
            Autograd.Restore(parameters, start);
            double j0 = Objective(problem);
            using (no_grad()) poolGradient = parameters.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
            var probes = new List<HypergradientProbe>();
            for (int k = 0; k < examples.Length; k++)
            {
                int i = examples[k];
                using (NewDisposeScope())
                {
                    var g = ExampleGradient(problem, i);
                    using (no_grad())
                        for (int p = 0; p < parameters.Count; p++)
                        {
                            poolGradient[p].add_(g[p], weights[i]);
                            parameters[p].add_(g[p], -eta);
                        }
                }
                double measured = Objective(problem) - j0;
                Autograd.Restore(parameters, start);
                probes.Add(new HypergradientProbe(i, scores[k], -eta * scores[k], measured));
            }
            using (no_grad())
                for (int p = 0; p < parameters.Count; p++) parameters[p].add_(poolGradient[p], -eta);
            double poolMeasured = Objective(problem) - j0;
            double poolPredicted = -eta * examples.Select((i, k) => weights[i] * scores[k]).Sum();
            return new HypergradientCheckReport(estimator.Name, j0, probes, poolPredicted, poolMeasured, options);
        }
        finally
        {
            Autograd.Restore(parameters, start);
            foreach (var t in start) t.Dispose();
            if (poolGradient is not null) foreach (var t in poolGradient) t.Dispose();
        }
    }

    private static double[] Weights(HypergradientCheckOptions options, int n)
    {
        if (options.Weights is null) return Enumerable.Repeat(1.0 / n, n).ToArray();
        if (options.Weights.Count != n)
            throw new ArgumentException($"HypergradientCheckOptions.Weights has {options.Weights.Count} weights but the pool has {n} examples.", nameof(options));
        return options.Weights.ToArray();
    }

    private static Tensor[] ExampleGradient(BilevelProblem problem, int i)
    {
        var loss = problem.PerExampleLosses(new long[] { i });
        if (loss is null || loss.IsInvalid || loss.numel() != 1 || !loss.is_floating_point())
            throw new U2ACheckException($"HypergradientCheck: the per-example loss of example {i} is {(loss is null ? "null" : loss.IsInvalid ? "disposed" : $"{loss.dtype} {Autograd.Shape(loss)}")}; it must be one floating-point loss.");
        if (!loss.requires_grad)
            throw new U2ACheckException($"HypergradientCheck: the per-example loss of example {i} has no autograd graph (requires_grad is false), so it cannot be " +
                "differentiated: the strategy detached it or computed it without gradients (UnlearnerContract.Check finds out which).");
        return Autograd.Gradient(loss.sum(), problem.Parameters);
    }

    private static double Objective(BilevelProblem problem)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var j = problem.Objective();
        if (j is null || j.IsInvalid || j.numel() != 1 || !j.is_floating_point())
            throw new U2ACheckException($"HypergradientCheck: the objective J is {(j is null ? "null" : j.IsInvalid ? "disposed" : $"{j.dtype} {Autograd.Shape(j)}")}; it must be a floating-point scalar.");
        double value = j.to_type(ScalarType.Float64).item<double>();
        if (!double.IsFinite(value)) throw new U2ACheckException($"HypergradientCheck: the objective J is {value}; it must be finite.");
        return value;
    }
}
