namespace U2A.Core.Selection;

/// <summary>
/// Weights by mirror descent (exponentiated gradient) on the simplex, descending on J:
/// <code>w_i &lt;- w_i * exp(-eta * dJ/dw_i) / Z = w_i * exp(eta * s_i) / Z</code>
/// with influence scores <c>s_i = -dJ/dw_i</c>. The optional sparsity penalty <c>beta_s * sum_i sqrt(w_i)</c> adds
/// <c>beta_s / (2 sqrt(w_i))</c> to dJ/dw_i. The U2A reference code multiplies by <c>exp(-eta s_i)</c>, which raises J;
/// this is the direction that lowers it (a test reruns the inner unlearning to prove it).
/// </summary>
public static class MirrorDescent
{
    /// <summary>One step; returns new weights (non-negative, summing to 1).</summary>
    /// <param name="weights">Current weights on the simplex.</param>
    /// <param name="scores">s_i = -dJ/dw_i for the same examples.</param>
    /// <param name="learningRate">eta; positive (reference 1e-2).</param>
    /// <param name="sparsityPenalty">beta_s; non-negative (reference 0).</param>
    /// <exception cref="ArgumentException">The lists are empty or of different lengths, a weight is negative or not finite, a score is not
    /// finite, or every weight is zero; the message names the index and the value.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The learning rate is not positive and finite, or the penalty not non-negative and finite.</exception>
    public static double[] Step(IReadOnlyList<double> weights, IReadOnlyList<double> scores, double learningRate, double sparsityPenalty = 0)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(scores);
        if (weights.Count == 0) throw new ArgumentException("weights must not be empty.", nameof(weights));
        if (weights.Count != scores.Count) throw new ArgumentException($"{weights.Count} weights but {scores.Count} scores.", nameof(scores));
        Require.Positive(learningRate, "MirrorDescent.learningRate");
        Require.NonNegative(sparsityPenalty, "MirrorDescent.sparsityPenalty");
        var logits = new double[weights.Count];
        for (int i = 0; i < weights.Count; i++)
        {
            if (!(weights[i] >= 0) || double.IsInfinity(weights[i])) throw new ArgumentException($"weights[{i}] = {weights[i]}; weights must be finite and non-negative.", nameof(weights));
            if (!double.IsFinite(scores[i])) throw new ArgumentException($"scores[{i}] = {scores[i]}; scores must be finite.", nameof(scores));
            double grad = -scores[i] + (sparsityPenalty > 0 && weights[i] > 0 ? sparsityPenalty / (2 * Math.Sqrt(weights[i])) : 0);
            logits[i] = weights[i] > 0 ? Math.Log(weights[i]) - learningRate * grad : double.NegativeInfinity;
        }
        double max = logits.Max();
        if (double.IsNegativeInfinity(max)) throw new ArgumentException("all weights are zero.", nameof(weights));
        if (!double.IsFinite(max))
            throw new ArgumentException($"learningRate ({learningRate}) times the scores overflows a double; lower the learning rate.", nameof(learningRate));
        var result = logits.Select(l => Math.Exp(l - max)).ToArray();
        double z = result.Sum();
        for (int i = 0; i < result.Length; i++) result[i] /= z;
        return result;
    }
}
