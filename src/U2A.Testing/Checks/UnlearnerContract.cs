using System.Globalization;
using U2A.Core.Models;
using U2A.Core.Unlearning;
using static TorchSharp.torch;

namespace U2A.Testing;

/// <summary>
/// Checks that an <see cref="IUnlearner"/> keeps the contract the rest of U2A.Core relies on, on a float64 tiny model
/// (<see cref="TinyModels"/>) and a seeded random padded batch (with reference log-probs from a second tiny model when the
/// strategy <see cref="IUnlearner.NeedsReference"/>):
/// <list type="bullet">
/// <item><see cref="OneLossPerExample"/>: <c>PerExampleLoss</c> returns a floating-point vector [B] on the log-probs' device, never a batch mean.</item>
/// <item><see cref="FiniteLosses"/>: every loss is finite.</item>
/// <item><see cref="Attached"/>: the losses have an autograd graph (requires_grad) and every example's loss has a non-zero gradient
/// with respect to the model's parameters (nothing detached, nothing computed from host values).</item>
/// <item><see cref="FiniteGradients"/>: those gradients are finite.</item>
/// <item><see cref="LinearInWeights"/>: through <see cref="InnerObjective.Value"/> with no terms, <c>L(w1 + a w2) = L(w1) + a L(w2)</c>
/// (a strategy cannot see the weights, so a failure here means hidden state or randomness: the loss changes from call to call).</item>
/// <item><see cref="PerExampleIndependence"/>: each example alone, in a batch of one without padding, has the loss it has in the padded batch
/// (no normalisation over the batch, no leak through padding).</item>
/// </list>
/// </summary>
public static class UnlearnerContract
{
    /// <summary>Property: one floating-point loss per example, shape [B], on the log-probs' device.</summary>
    public const string OneLossPerExample = "one loss per example";

    /// <summary>Property: every loss is finite.</summary>
    public const string FiniteLosses = "finite losses";

    /// <summary>Property: the losses have an autograd graph and a non-zero gradient for every example.</summary>
    public const string Attached = "attached to the parameters";

    /// <summary>Property: the gradients of the losses are finite.</summary>
    public const string FiniteGradients = "finite gradients";

    /// <summary>Property: the inner objective is linear in the weights.</summary>
    public const string LinearInWeights = "linear in the weights";

    /// <summary>Property: an example's loss does not depend on the other examples of its batch or on padding.</summary>
    public const string PerExampleIndependence = "per-example independence";

    /// <summary>Runs every check and throws <see cref="U2ACheckException"/> naming each failed property and its numbers.</summary>
    /// <exception cref="U2ACheckException">A property fails.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public static void Check(IUnlearner unlearner, UnlearnerContractOptions? options = null) => Run(unlearner, options).ThrowIfFailed();

    /// <summary>Runs every check and returns the report (throws nothing for a failed property).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public static UnlearnerContractReport Run(IUnlearner unlearner, UnlearnerContractOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(unlearner);
        options ??= new UnlearnerContractOptions();
        options.Validate();
        string name = unlearner.Name ?? unlearner.GetType().Name;
        using var model = Build(options, options.Seed);
        using var forget = Batch(unlearner, options);
        return new UnlearnerContractReport(name, Properties(unlearner, model, forget, options));
    }

    /// <summary>
    /// Checks that <paramref name="inner"/> (with its terms) is affine in the weights, <c>L(w1 + a w2) - L(w1) = a (L(w2) - L(0))</c>,
    /// with seeded random non-negative weights and <c>a = 0.5</c>, evaluated without gradients; for an objective without terms this
    /// is linearity. Since neither a strategy nor a term sees the weights, a failure means that a value changes from call to call
    /// (hidden state such as a running normaliser, randomness such as dropout in training mode).
    /// </summary>
    /// <param name="inner">The inner objective (borrowed).</param>
    /// <param name="model">The model (borrowed).</param>
    /// <param name="batch">The forget batch, with reference log-probs when the strategy needs them (borrowed).</param>
    /// <param name="seed">The seed of the weights.</param>
    /// <param name="relativeTolerance">Relative tolerance, on the scale of the compared values.</param>
    /// <param name="absoluteTolerance">Absolute tolerance.</param>
    public static ContractPropertyResult CheckLinearity(InnerObjective inner, ICausalLM model, ForgetBatch batch, int seed = 0,
        double relativeTolerance = 1e-9, double absoluteTolerance = 1e-10)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        var rng = new Random(seed);
        int b = batch.Count;
        double[] w1 = Enumerable.Range(0, b).Select(_ => 0.1 + rng.NextDouble()).ToArray();
        double[] w2 = Enumerable.Range(0, b).Select(_ => 0.1 + rng.NextDouble()).ToArray();
        const double a = 0.5;
        try
        {
            using var noGrad = no_grad();
            double L(double[] w)
            {
                using var scope = NewDisposeScope();
                return inner.Value(model, batch, tensor(w, dtype: model.DType, device: model.Device)).to_type(ScalarType.Float64).item<double>();
            }
            double l0 = L(new double[b]), l1 = L(w1), l2 = L(w2), l12 = L(w1.Select((x, i) => x + a * w2[i]).ToArray());
            double lhs = l12 - l1, rhs = a * (l2 - l0);
            double err = Math.Abs(lhs - rhs), tol = absoluteTolerance + relativeTolerance * (Math.Abs(l1) + Math.Abs(l12) + a * (Math.Abs(l2) + Math.Abs(l0)));
            string detail = string.Create(CultureInfo.InvariantCulture,
                $"L(w1 + {a} w2) - L(w1) = {lhs:G10}, {a} (L(w2) - L(0)) = {rhs:G10}, error {err:G3}, tolerance {tol:G3}; L(0) = {l0:G6}, L(w1) = {l1:G6}, L(w2) = {l2:G6}");
            bool ok = err <= tol;
            return new ContractPropertyResult(LinearInWeights, true, ok,
                ok ? detail : detail + "; the values change from call to call: hidden state (a running normaliser, a call counter) or randomness (dropout in training mode)");
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            return new ContractPropertyResult(LinearInWeights, true, false, $"InnerObjective.Value threw {ex.GetType().Name}: {ex.Message}");
        }
    }

    private static List<ContractPropertyResult> Properties(IUnlearner unlearner, ICausalLM model, ForgetBatch forget, UnlearnerContractOptions options)
    {
        var results = new List<ContractPropertyResult>();
        var parameters = model.TrainableParameters.Cast<Tensor>().ToArray();
        int b = forget.Count;
        void NotChecked(string because, params string[] properties)
        {
            foreach (var p in properties) results.Add(new ContractPropertyResult(p, false, false, because));
        }

        using var scope = NewDisposeScope();
        var policy = ResponseLogProbs.Compute(model, forget.Tokens);
        Tensor? losses;
        try { losses = unlearner.PerExampleLoss(policy, forget.Reference); }
        catch (Exception ex)
        {
            results.Add(new ContractPropertyResult(OneLossPerExample, true, false, $"PerExampleLoss threw {ex.GetType().Name}: {ex.Message}"));
            NotChecked("PerExampleLoss threw", FiniteLosses, Attached, FiniteGradients, LinearInWeights, PerExampleIndependence);
            return results;
        }
        string? shapeProblem = losses is null ? "returned null"
            : losses.IsInvalid ? "returned a disposed tensor"
            : losses.dim() != 1 || losses.shape[0] != b ? $"returned shape {Autograd.Shape(losses)} for a batch of {b} examples; it must be [{b}], one loss per example, never a mean or sum over the batch"
            : !losses.is_floating_point() ? $"returned {losses.dtype} losses; they must be floating point"
            : losses.device_type != policy.Sum.device_type || losses.device_index != policy.Sum.device_index ? $"returned losses on {losses.device}, but the log-probs are on {policy.Sum.device}"
            : null;
        if (shapeProblem is not null)
        {
            results.Add(new ContractPropertyResult(OneLossPerExample, true, false, shapeProblem));
            NotChecked($"needs {OneLossPerExample}", FiniteLosses, Attached, FiniteGradients, LinearInWeights, PerExampleIndependence);
            return results;
        }
        results.Add(new ContractPropertyResult(OneLossPerExample, true, true, $"shape [{b}], {losses!.dtype}, {losses.device}"));

        double[] values = Values(losses);
        results.Add(new ContractPropertyResult(FiniteLosses, true, values.All(double.IsFinite), $"losses {Format(values)}"));

        // Each example alone (a batch of one, no padding), with gradients: its loss, and its gradient's norm and finiteness.
        var alone = new double[b];
        var rowGradNorm = new double[b];
        var rowGradFinite = new bool[b];
        string? aloneProblem = null;
        for (int i = 0; i < b && aloneProblem is null; i++)
        {
            using var rowScope = NewDisposeScope();
            using var row = forget.Select(new long[] { i });
            var rowPolicy = ResponseLogProbs.Compute(model, row.Tokens);
            Tensor? l;
            try { l = unlearner.PerExampleLoss(rowPolicy, row.Reference); }
            catch (Exception ex) { aloneProblem = $"on example {i} alone PerExampleLoss threw {ex.GetType().Name}: {ex.Message}"; break; }
            if (l is null || l.IsInvalid || l.numel() != 1) { aloneProblem = $"on example {i} alone PerExampleLoss returned {(l is null ? "null" : Autograd.Shape(l))}, not one loss"; break; }
            alone[i] = Values(l)[0];
            if (l.requires_grad)
            {
                var g = Autograd.Gradient(l.sum(), parameters);
                (rowGradNorm[i], rowGradFinite[i]) = NormAndFinite(g);
            }
            else rowGradNorm[i] = double.NaN;
        }

        if (!losses.requires_grad)
        {
            results.Add(new ContractPropertyResult(Attached, true, false, "the losses have no autograd graph (requires_grad is false): they were detached, " +
                "computed under torch.no_grad(), or rebuilt from host values; compute them from policy.Sum, policy.Mean or policy.MeanNll with tensor operations"));
            NotChecked($"needs {Attached}", FiniteGradients);
        }
        else
        {
            var rng = new Random(options.Seed);
            var w = tensor(Enumerable.Range(0, b).Select(_ => 0.5 + rng.NextDouble()).ToArray(), dtype: losses.dtype, device: losses.device);
            var grads = Autograd.Gradient((losses * w).sum(), parameters);
            var (norm, finite) = NormAndFinite(grads);
            var zeroRows = aloneProblem is null ? Enumerable.Range(0, b).Where(i => double.IsNaN(rowGradNorm[i]) || (rowGradNorm[i] == 0 && rowGradFinite[i])).ToArray() : [];
            bool attached = norm > 0 && zeroRows.Length == 0;
            results.Add(new ContractPropertyResult(Attached, true, attached,
                (norm > 0 ? $"requires_grad, |grad sum_i w_i l_i| = {norm.ToString("G4", CultureInfo.InvariantCulture)}" : "requires_grad, but the gradient of sum_i w_i l_i is zero everywhere: the loss does not depend on the parameters") +
                (zeroRows.Length > 0 ? $"; examples {string.Join(", ", zeroRows)} alone have no (or a zero) gradient" : "")));
            var badRows = aloneProblem is null ? Enumerable.Range(0, b).Where(i => !rowGradFinite[i] && !double.IsNaN(rowGradNorm[i])).ToArray() : [];
            results.Add(new ContractPropertyResult(FiniteGradients, true, finite && badRows.Length == 0,
                finite && badRows.Length == 0 ? "every gradient element is finite"
                    : $"the gradient holds NaN or infinite elements{(badRows.Length > 0 ? $" (examples {string.Join(", ", badRows)} alone)" : "")}"));
        }

        using (var inner = new InnerObjective(unlearner))
            results.Add(CheckLinearity(inner, model, forget, options.Seed, options.RelativeTolerance, options.AbsoluteTolerance));

        if (aloneProblem is not null) results.Add(new ContractPropertyResult(PerExampleIndependence, true, false, aloneProblem));
        else
        {
            int worst = Enumerable.Range(0, b).MaxBy(i => Math.Abs(alone[i] - values[i]))!;
            var failing = Enumerable.Range(0, b).Where(i => !Close(alone[i], values[i], options)).ToArray();
            string detail = string.Create(CultureInfo.InvariantCulture,
                $"in the batch {Format(values)}, each alone {Format(alone)}; largest difference {Math.Abs(alone[worst] - values[worst]):G3} (example {worst})");
            results.Add(new ContractPropertyResult(PerExampleIndependence, true, failing.Length == 0,
                failing.Length == 0 ? detail : detail + $"; examples {string.Join(", ", failing)} differ: the loss depends on the other examples of the batch " +
                    "(a batch mean, a normalisation over the batch) or on padding"));
        }
        return results;
    }

    private static bool Close(double a, double b, UnlearnerContractOptions o) =>
        Math.Abs(a - b) <= o.AbsoluteTolerance + o.RelativeTolerance * Math.Max(Math.Abs(a), Math.Abs(b)) || (double.IsNaN(a) && double.IsNaN(b));

    private static (double Norm, bool Finite) NormAndFinite(Tensor[] grads)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        double sq = 0;
        bool finite = true;
        foreach (var g in grads)
        {
            var d = g.to_type(ScalarType.Float64);
            finite &= d.isfinite().all().item<bool>();
            sq += d.where(d.isfinite(), zeros_like(d)).square().sum().item<double>();
        }
        return (Math.Sqrt(sq), finite);
    }

    private static double[] Values(Tensor t)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        return t.detach().to_type(ScalarType.Float64).cpu().reshape(-1).data<double>().ToArray();
    }

    private static string Format(double[] v) => "[" + string.Join(", ", v.Select(x => x.ToString("G6", CultureInfo.InvariantCulture))) + "]";

    private static ICausalLM Build(UnlearnerContractOptions options, long seed) => options.Architecture == TinyArchitecture.Llama
        ? TinyModels.Llama(seed, dtype: ScalarType.Float64)
        : TinyModels.Gpt2(seed, dtype: ScalarType.Float64);

    private static ForgetBatch Batch(IUnlearner unlearner, UnlearnerContractOptions options)
    {
        var tokens = TinyBatches.Random(options.BatchSize, TinyModels.DefaultVocabularySize, options.Seed, maxPromptLength: 4, maxResponseLength: 5);
        if (!unlearner.NeedsReference) return new ForgetBatch(tokens);
        using var reference = Build(options, options.Seed + 1L);
        SequenceLogProbs lp;
        using (no_grad()) lp = ResponseLogProbs.Compute(reference, tokens);
        return new ForgetBatch(tokens, lp);
    }
}
