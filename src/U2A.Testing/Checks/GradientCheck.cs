using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Testing;

/// <summary>
/// Compares the autograd gradient of any scalar function of some parameters with float64 central differences,
/// <c>(f(x + h e_k) - f(x - h e_k)) / 2h</c>, on a seeded random subset of coordinates <c>k</c>.
/// </summary>
/// <remarks>
/// The function is called once with gradients (for autograd) and twice per coordinate under <c>torch.no_grad()</c>, plus once
/// more to make sure it is deterministic (dropout in training mode is not). Each coordinate is perturbed in place and put back to
/// its exact original value, so the parameters are bit-for-bit unchanged afterwards. The parameters must be float64.
/// <code>
/// using var model = TinyModels.Gpt2(seed: 0, dtype: ScalarType.Float64);
/// GradientCheck.Run(model, () => myLoss(model)).ThrowIfFailed();
/// </code>
/// </remarks>
public static class GradientCheck
{
    /// <summary>Checks the gradient of <paramref name="f"/> with respect to the model's trainable parameters.</summary>
    /// <exception cref="ArgumentException">As <see cref="Run(IReadOnlyList{Tensor}, Func{Tensor}, GradientCheckOptions?)"/>.</exception>
    public static GradientCheckReport Run(ICausalLM model, Func<Tensor> f, GradientCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Run(model.TrainableParameters, f, options);
    }

    /// <summary>Checks the gradient of <paramref name="f"/> with respect to <paramref name="parameters"/>.</summary>
    /// <param name="parameters">Distinct float64 tensors that require grad, perturbed in place and restored exactly (borrowed).</param>
    /// <param name="f">A scalar function of the parameters' current values, computed anew on each call (its tensors are disposed by the check).</param>
    /// <param name="options">The settings; defaults when null.</param>
    /// <returns>The report; call <see cref="GradientCheckReport.ThrowIfFailed"/> to fail a test on it.</returns>
    /// <exception cref="ArgumentException">A parameter is not float64, does not require grad, or is listed twice; or <paramref name="f"/>
    /// returns null, something other than a float64 scalar, or a non-finite value.</exception>
    public static GradientCheckReport Run(IReadOnlyList<Tensor> parameters, Func<Tensor> f, GradientCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        options ??= new GradientCheckOptions();
        options.Validate();
        Autograd.CheckParameters(parameters, nameof(parameters), "GradientCheck", requireFloat64: true);
        var problems = new List<string>();

        // Autograd: one call with gradients.
        double[][] analytic;
        double f0;
        var picks = Pick(parameters, options);
        using (NewDisposeScope())
        {
            var value = CheckValue(f(), "f");
            f0 = value.item<double>();
            if (!value.requires_grad)
            {
                problems.Add("f's output has no autograd graph (requires_grad is false: it was detached, computed under no_grad, or rebuilt " +
                    "from host values), so its autograd gradient is taken as zero");
                analytic = picks.Select(p => new double[p.Elements.Length]).ToArray();
            }
            else
            {
                var grads = Autograd.Gradient(value, parameters);
                analytic = picks.Select(p =>
                {
                    var flat = grads[p.Parameter].reshape(-1).cpu();
                    return p.Elements.Select(e => flat[e].item<double>()).ToArray();
                }).ToArray();
            }
        }

        double Evaluate()
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            return CheckValue(f(), "f").item<double>();
        }

        double again = Evaluate();
        if (again != f0 && Math.Abs(again - f0) > options.AbsoluteTolerance * options.Step)
            problems.Add($"f is not deterministic: two calls at the same parameters gave {f0:R} and {again:R} (dropout in training mode? " +
                "call SetTraining(false) on the model)");

        var coordinates = new List<GradientCheckCoordinate>();
        double h = options.Step;
        for (int k = 0; k < picks.Length; k++)
        {
            var p = parameters[picks[k].Parameter];
            var shape = p.shape;
            for (int j = 0; j < picks[k].Elements.Length; j++)
            {
                var index = Autograd.Unravel(picks[k].Elements[j], shape);
                double plus, minus;
                using (var element = Element(p, index))
                {
                    double original = element.item<double>();
                    try
                    {
                        Set(element, original + h);
                        plus = Evaluate();
                        Set(element, original - h);
                        minus = Evaluate();
                    }
                    finally
                    {
                        Set(element, original);
                    }
                }
                double fd = (plus - minus) / (2 * h), ad = analytic[k][j];
                double abs = Math.Abs(fd - ad), scale = Math.Max(Math.Abs(fd), Math.Abs(ad));
                double rel = scale > 0 ? abs / scale : 0;
                bool ok = double.IsFinite(fd) && double.IsFinite(ad) && (abs <= options.AbsoluteTolerance || rel <= options.RelativeTolerance);
                coordinates.Add(new GradientCheckCoordinate(picks[k].Parameter, index, fd, ad, double.IsNaN(abs) ? double.PositiveInfinity : abs,
                    double.IsNaN(rel) ? double.PositiveInfinity : rel, ok));
            }
        }
        return new GradientCheckReport(coordinates, options, problems);
    }

    private static Tensor CheckValue(Tensor? value, string name)
    {
        if (value is null) throw new ArgumentException($"GradientCheck: {name} returned null; it must return a float64 scalar.", name);
        if (value.IsInvalid) throw new ArgumentException($"GradientCheck: {name} returned a disposed tensor.", name);
        if (value.numel() != 1) throw new ArgumentException($"GradientCheck: {name} returned shape {Autograd.Shape(value)}; it must return a scalar (one element).", name);
        if (value.dtype != ScalarType.Float64)
            throw new ArgumentException($"GradientCheck: {name} returned {value.dtype}; it must return a float64 scalar (a cast to a lower precision ruins the finite differences).", name);
        double v;
        using (no_grad()) v = value.item<double>();
        if (!double.IsFinite(v)) throw new ArgumentException($"GradientCheck: {name} returned {v} at the unperturbed parameters; it must be finite.", name);
        return value;
    }

    /// <summary>A view of one element, made without gradients so that writing through it is allowed.</summary>
    private static Tensor Element(Tensor p, long[] index)
    {
        using var noGrad = no_grad();
        return index.Length == 0 ? p.alias() : p[index.Select(i => TensorIndex.Single(i)).ToArray()];
    }

    private static void Set(Tensor element, double value)
    {
        using var noGrad = no_grad();
        element.fill_(value);
    }

    /// <summary>Round-robin over the parameters, a random element each time (without repeats while a parameter has unchecked ones).</summary>
    private static (int Parameter, long[] Elements)[] Pick(IReadOnlyList<Tensor> parameters, GradientCheckOptions options)
    {
        var rng = new Random(options.Seed);
        var chosen = parameters.Select(_ => new List<long>()).ToArray();
        var sets = parameters.Select(_ => new HashSet<long>()).ToArray();
        long total = parameters.Sum(p => p.numel());
        long want = Math.Min(options.Coordinates, total);
        int i = rng.Next(parameters.Count);
        for (long picked = 0; picked < want; i = (i + 1) % parameters.Count)
        {
            long n = parameters[i].numel();
            if (sets[i].Count >= n) continue;
            long e;
            do e = rng.NextInt64(n); while (!sets[i].Add(e));
            chosen[i].Add(e);
            picked++;
        }
        return chosen.Select((c, k) => (k, c.ToArray())).Where(x => x.Item2.Length > 0).ToArray();
    }
}
