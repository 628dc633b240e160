using U2A.Core.Data;
using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Testing;

/// <summary>
/// The exact PA metric of a task whose well-formed responses form a finite set per prompt: the probability of every
/// well-formed response (EOS included) from one batched forward pass, then <c>sum_y p(y|x) r(x,y) + (1 - sum_y p(y|x)) r_malformed</c>.
/// Smooth, exact, no sampling.
/// </summary>
public sealed class ExpectedRewardEvaluator : IDisposable
{
    private readonly TokenBatch _batch;
    private readonly int[] _promptOf;
    private readonly double[] _rewards;
    private readonly double _malformedReward;
    private readonly int _chunkSize;
    private readonly long[] _byLength;

    /// <summary>Builds the evaluator over explicit candidates.</summary>
    /// <param name="candidates">Every well-formed (prompt index, prompt, response, reward) the metric sums over.</param>
    /// <param name="promptCount">The number of prompts; candidate prompt indices lie in [0, promptCount).</param>
    /// <param name="collate">Tokenises (prompt, response) pairs into a batch on the model's device.</param>
    /// <param name="malformedReward">The reward of the mass outside the candidates.</param>
    /// <param name="chunkSize">Sequences per forward pass.</param>
    public ExpectedRewardEvaluator(IReadOnlyList<(int Prompt, string PromptText, string Response, double Reward)> candidates, int promptCount,
        Func<IReadOnlyList<(string Prompt, string Response)>, TokenBatch> collate, double malformedReward, int chunkSize = 1024)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(collate);
        ArgumentOutOfRangeException.ThrowIfLessThan(promptCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        if (candidates.Count == 0) throw new ArgumentException("at least one candidate response is needed.", nameof(candidates));
        if (candidates.Any(c => c.Prompt < 0 || c.Prompt >= promptCount))
            throw new ArgumentException($"a candidate's prompt index lies outside [0, {promptCount}).", nameof(candidates));
        if (candidates.Any(c => !double.IsFinite(c.Reward)))
            throw new ArgumentException("every candidate's reward must be finite.", nameof(candidates));
        if (!double.IsFinite(malformedReward)) throw new ArgumentException($"malformedReward must be finite, got {malformedReward}.", nameof(malformedReward));
        _promptOf = candidates.Select(c => c.Prompt).ToArray();
        _rewards = candidates.Select(c => c.Reward).ToArray();
        _malformedReward = malformedReward;
        _chunkSize = chunkSize;
        PromptCount = promptCount;
        _batch = collate(candidates.Select(c => (c.PromptText, c.Response)).ToArray())
            ?? throw new InvalidOperationException("collate returned null; it must return one row per candidate.");
        if (_batch.Count != candidates.Count)
        {
            int rows = _batch.Count;
            _batch.Dispose();
            throw new InvalidOperationException($"collate returned {rows} rows for {candidates.Count} candidates; it must return one row per candidate, in order.");
        }
        // Chunks of similar length: TokenBatch.Select trims each chunk's padding.
        using (var lengths = _batch.AttentionMask.sum(1))
        {
            var host = lengths.cpu().data<long>().ToArray();
            _byLength = Enumerable.Range(0, host.Length).OrderBy(i => host[i]).Select(i => (long)i).ToArray();
        }
    }

    /// <summary>The evaluator of <paramref name="prompts"/> of the safety benchmark task, on <paramref name="device"/>.</summary>
    public static ExpectedRewardEvaluator For(SafetyBenchmarkTask task, IReadOnlyList<string> prompts, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0) throw new ArgumentException("at least one prompt is needed.", nameof(prompts));
        for (int i = 0; i < prompts.Count; i++)
            if (prompts[i] is null) throw new ArgumentException($"prompts[{i}] is null.", nameof(prompts));
        var candidates = prompts.SelectMany((p, i) => SafetyBenchmarkTask.WellFormedResponses(p)
            .Select(r => (i, p, r, SafetyBenchmarkTask.Reward(p, r)))).ToArray();
        return new ExpectedRewardEvaluator(candidates, prompts.Count, pairs => task.Collate(pairs, device), SafetyBenchmarkTask.MalformedReward);
    }

    /// <summary>The number of prompts.</summary>
    public int PromptCount { get; }

    /// <summary>The probability of every candidate response at the model's current parameters (no gradients).</summary>
    public double[] Probabilities(ICausalLM model)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var parts = new List<Tensor>();
        for (int start = 0; start < _batch.Count; start += _chunkSize)
        {
            var chunk = _batch.Select(_byLength.AsSpan(start, Math.Min(_chunkSize, _batch.Count - start)).ToArray());
            parts.Add(ResponseLogProbs.Compute(model, chunk).Sum.to_type(ScalarType.Float64));
        }
        // One host copy for the whole set, then back to the candidates' order.
        var sorted = cat(parts.ToArray(), 0).exp().cpu().data<double>().ToArray();
        var probabilities = new double[sorted.Length];
        for (int k = 0; k < sorted.Length; k++) probabilities[_byLength[k]] = sorted[k];
        return probabilities;
    }

    /// <summary>The metrics at the model's current parameters; the win rate against <paramref name="baseline"/> probabilities when given.</summary>
    public PaMetrics Evaluate(ICausalLM model, double[]? baseline = null) => Metrics(Probabilities(model), baseline);

    /// <summary>The metrics of given candidate probabilities (and of a baseline's, for the win rate).</summary>
    public PaMetrics Metrics(double[] probabilities, double[]? baseline = null)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        if (probabilities.Length != _rewards.Length) throw new ArgumentException($"expected {_rewards.Length} probabilities, got {probabilities.Length}.", nameof(probabilities));
        if (baseline is not null && baseline.Length != _rewards.Length) throw new ArgumentException($"expected {_rewards.Length} baseline probabilities, got {baseline.Length}.", nameof(baseline));
        CheckProbabilities(probabilities, nameof(probabilities));
        if (baseline is not null) CheckProbabilities(baseline, nameof(baseline));
        var mass = new double[PromptCount];
        var reward = new double[PromptCount];
        for (int i = 0; i < probabilities.Length; i++)
        {
            mass[_promptOf[i]] += probabilities[i];
            reward[_promptOf[i]] += probabilities[i] * _rewards[i];
        }
        for (int p = 0; p < PromptCount; p++) reward[p] += Math.Max(0, 1 - mass[p]) * _malformedReward;
        double? win = baseline is null ? null : WinRate(probabilities, baseline);
        return new PaMetrics(reward.Average(), mass.Average(), win);
    }

    /// <summary>Each probability in [0, 1] and each prompt's total at most 1 (with float32 rounding allowed for).</summary>
    private void CheckProbabilities(double[] p, string name)
    {
        const double slack = 1e-4;
        var total = new double[PromptCount];
        for (int i = 0; i < p.Length; i++)
        {
            if (!(p[i] >= 0 && p[i] <= 1 + slack)) throw new ArgumentException($"{name}[{i}] = {p[i]} is not a probability.", name);
            total[_promptOf[i]] += p[i];
        }
        for (int k = 0; k < total.Length; k++)
            if (total[k] > 1 + slack) throw new ArgumentException($"{name} sum to {total[k]} on prompt {k}: more than 1.", name);
    }

    /// <summary>Mean over prompts of P(r(y) &gt; r(y')) + P(r(y) = r(y'))/2, y from the model, y' from the baseline, both exactly.</summary>
    private double WinRate(double[] p, double[] q)
    {
        // Per prompt: the outcomes are the candidates plus one "malformed" outcome holding the remaining mass.
        var byPrompt = Enumerable.Range(0, _rewards.Length).GroupBy(i => _promptOf[i]).ToDictionary(g => g.Key, g => g.ToArray());
        double total = 0;
        for (int prompt = 0; prompt < PromptCount; prompt++)
        {
            var idx = byPrompt.TryGetValue(prompt, out var ix) ? ix : Array.Empty<int>();
            var a = idx.Select(i => (R: _rewards[i], P: p[i])).Append((R: _malformedReward, P: Math.Max(0, 1 - idx.Sum(i => p[i])))).ToArray();
            var b = idx.Select(i => (R: _rewards[i], P: q[i])).Append((R: _malformedReward, P: Math.Max(0, 1 - idx.Sum(i => q[i])))).ToArray();
            double win = 0;
            foreach (var x in a)
                foreach (var y in b)
                    win += x.P * y.P * (x.R > y.R ? 1 : x.R == y.R ? 0.5 : 0);
            total += win;
        }
        return total / PromptCount;
    }

    /// <inheritdoc />
    public void Dispose() => _batch.Dispose();
}
