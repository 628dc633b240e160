using U2A.Core.Tokenization;
using U2A.Testing;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Testing;

public class ExpectedRewardEvaluatorTests
{
    /// <summary>
    /// Brute force on a tiny case: every response of up to 3 tokens over the whole vocabulary, its probability the product of
    /// next-token softmaxes from separate forward passes on each prefix; well-formed responses get their reward, every other
    /// outcome (including the mass of longer responses) the malformed reward. The evaluator's batched sum over the well-formed
    /// set alone must agree.
    /// </summary>
    [Fact]
    public void Expected_reward_equals_a_brute_force_sum_over_every_response()
    {
        var tokenizer = new WordTokenizer(new[] { "a", "b" });
        var encoder = new PromptResponseEncoder(tokenizer, PromptTemplate.Plain);
        using var model = new TinyTransformerLM(tokenizer.VocabSize, width: 16, layers: 1, heads: 2, maxLength: 16, seed: 3, dtype: ScalarType.Float64);
        var prompts = new[] { "a", "b a" };
        var wellFormed = new Dictionary<string, double> { ["a"] = 1, ["b a"] = -1, ["a a b"] = 0.5, ["b"] = 0.25 };
        const double malformed = -0.5;
        var candidates = prompts.SelectMany((p, i) => wellFormed.Select(kv => (i, p, kv.Key, kv.Value))).ToArray();
        using var evaluator = new ExpectedRewardEvaluator(candidates, prompts.Length,
            pairs => WordBatch(encoder, tokenizer, pairs), malformed);
        var metrics = evaluator.Evaluate(model);

        double expected = 0, mass = 0;
        foreach (var prompt in prompts)
        {
            var promptIds = new List<long> { tokenizer.BosId!.Value };
            promptIds.AddRange(tokenizer.Encode(prompt).Select(i => (long)i));
            double sum = 0, total = 0, wfMass = 0;
            void Walk(List<long> response, double prefixProbability)
            {
                var next = NextTokenProbabilities(model, promptIds.Concat(response).ToList());
                for (int token = 0; token < next.Length; token++)
                {
                    double p = prefixProbability * next[token];
                    if (token == tokenizer.EosId)
                    {
                        string text = string.Join(" ", response.Select(t => tokenizer.Tokens[(int)t]));
                        bool ok = response.All(t => t >= 4) && wellFormed.ContainsKey(text);
                        sum += p * (ok ? wellFormed[text] : malformed);
                        total += p;
                        if (ok) wfMass += p;
                    }
                    else if (response.Count < 3) Walk(response.Append(token).ToList(), p);
                    else { sum += p * malformed; total += p; }   // longer than 3 tokens: never well-formed
                }
            }
            Walk(new List<long>(), 1.0);
            Assert.Equal(1.0, total, 10);   // the enumeration covers every outcome
            expected += sum / prompts.Length;
            mass += wfMass / prompts.Length;
        }
        Assert.Equal(expected, metrics.ExpectedReward, 9);
        Assert.Equal(mass, metrics.WellFormedMass, 9);
        Assert.True(mass is > 0.001 and < 0.999, $"the case must be non-trivial, mass {mass}");
    }

    [Fact]
    public void Win_rate_against_itself_is_one_half_and_against_a_worse_policy_above_one_half()
    {
        var tokenizer = new WordTokenizer(new[] { "a", "b" });
        var encoder = new PromptResponseEncoder(tokenizer, PromptTemplate.Plain);
        var candidates = new[] { (0, "a", "a", 1.0), (0, "a", "b", -1.0) };
        using var evaluator = new ExpectedRewardEvaluator(candidates, 1, pairs => WordBatch(encoder, tokenizer, pairs), -0.5);
        var p = new[] { 0.6, 0.3 };   // 0.1 malformed
        Assert.Equal(0.5, evaluator.Metrics(p, p).WinRate!.Value, 12);
        // Against q = (0.2, 0.7, 0.1 malformed), by hand: P(win) + P(tie)/2.
        var q = new[] { 0.2, 0.7 };
        double byHand = 0.6 * (0.7 + 0.1) + 0.6 * 0.2 * 0.5 + 0.1 * 0.7 + 0.1 * 0.1 * 0.5 + 0.3 * 0.7 * 0.5;
        Assert.Equal(byHand, evaluator.Metrics(p, q).WinRate!.Value, 12);
        Assert.Equal(0.6 * 1 + 0.3 * -1 + 0.1 * -0.5, evaluator.Metrics(p).ExpectedReward, 12);
        Assert.Throws<ArgumentException>(() => evaluator.Metrics(new[] { 1.0 }));
    }

    [Fact]
    public void Misuse_is_refused_naming_what_is_wrong()
    {
        var tokenizer = new WordTokenizer(new[] { "a", "b" });
        var encoder = new PromptResponseEncoder(tokenizer, PromptTemplate.Plain);
        var candidates = new[] { (0, "a", "a", 1.0), (0, "a", "b", -1.0) };
        var e = Assert.Throws<InvalidOperationException>(() => new ExpectedRewardEvaluator(candidates, 1, pairs => WordBatch(encoder, tokenizer, pairs.Take(1).ToArray()), -0.5));
        Assert.Contains("1 rows for 2 candidates", e.Message);
        Assert.Throws<ArgumentException>(() => new ExpectedRewardEvaluator(new[] { (0, "a", "a", double.NaN) }, 1, pairs => WordBatch(encoder, tokenizer, pairs), -0.5));
        using var evaluator = new ExpectedRewardEvaluator(candidates, 1, pairs => WordBatch(encoder, tokenizer, pairs), -0.5);
        Assert.Contains("probabilities[0] = 5", Assert.Throws<ArgumentException>(() => evaluator.Metrics(new[] { 5.0, -3.0 })).Message);
        Assert.Contains("more than 1", Assert.Throws<ArgumentException>(() => evaluator.Metrics(new[] { 0.7, 0.7 })).Message);
        Assert.Throws<ArgumentException>(() => evaluator.Metrics(new[] { double.NaN, 0.1 }));
        var task = new SafetyBenchmarkTask();
        Assert.Throws<ArgumentException>(() => ExpectedRewardEvaluator.For(task, new string[] { null! }));
        Assert.Throws<ArgumentNullException>(() => SafetyBenchmarkTask.TopicOf(null!));
        Assert.Throws<ArgumentException>(() => task.Collate(Array.Empty<(string, string)>()));
    }

    [Fact]
    public void A_sequence_longer_than_the_model_is_refused_before_native_code()
    {
        using var model = new TinyTransformerLM(8, width: 8, layers: 1, heads: 2, maxLength: 4);
        using var ids = zeros(1, 5, dtype: ScalarType.Int64);
        var e = Assert.Throws<ArgumentException>(() => model.Forward(ids, ones_like(ids)));
        Assert.Contains("longer than the model's 4 positions", e.Message);
    }

    private static double[] NextTokenProbabilities(TinyTransformerLM model, List<long> ids)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var x = tensor(ids.ToArray(), dtype: ScalarType.Int64).unsqueeze(0);
        var logits = model.Forward(x, ones_like(x))[0, -1];
        return logits.softmax(-1).data<double>().ToArray();
    }

    private static U2A.Core.Data.TokenBatch WordBatch(PromptResponseEncoder encoder, WordTokenizer tokenizer, IReadOnlyList<(string Prompt, string Response)> pairs) =>
        WordTaskBatches.Collate(encoder, tokenizer.PadId, pairs, null);
}
