using U2A.Core.Data;
using U2A.Core.Influence;
using U2A.Core.Models;
using U2A.Core.Models.Gpt2;
using U2A.Core.Models.Lora;
using U2A.Core.Optimization;
using U2A.Core.Tests.Shared;
using U2A.Core.Unlearning;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Influence;

/// <summary>
/// Length buckets: the scorer cuts chunks from candidates sorted by length, which must change no score and must cut the
/// padding of the batched passes; finite differences on a LoRA model run on merged adapters, with the same scores.
/// </summary>
public sealed class InfluenceScorerBucketingTests
{
    // Real lengths of the 14 candidates, in pool order: mixed so that chunks cut in this order hold long and short rows.
    private static readonly int[] Lengths = { 4, 22, 6, 19, 5, 24, 7, 3, 21, 8, 20, 5, 23, 6 };

    /// <summary>Right-padded prompt (2 tokens) + response rows of the given lengths, seeded ids.</summary>
    private static ForgetBatch Pool()
    {
        var rng = new Random(7);
        int t = Lengths.Max();
        var ids = new long[Lengths.Length * t];
        var att = new long[Lengths.Length * t];
        var resp = new long[Lengths.Length * t];
        for (int i = 0; i < Lengths.Length; i++)
            for (int j = 0; j < Lengths[i]; j++)
            {
                ids[i * t + j] = rng.Next(1, 50);
                att[i * t + j] = 1;
                resp[i * t + j] = j >= 2 ? 1 : 0;
            }
        long[] shape = { Lengths.Length, t };
        return new ForgetBatch(new TokenBatch(tensor(ids, shape), tensor(att, shape), tensor(resp, shape)));
    }

    /// <summary>A problem whose per-example closure records the cells ([rows x columns]) of every batch it is given.</summary>
    private static BilevelProblem Problem(ICausalLM model, ForgetBatch pool, List<long> cells, bool lengths = true, Func<IDisposable>? forwardOnly = null, List<bool>? merged = null)
    {
        var inner = new InnerObjective(new GradAscent());
        using var w = full(pool.Count, 1.0 / pool.Count, dtype: ScalarType.Float64);
        var weights = w.clone().DetachFromDisposeScope();
        return new BilevelProblem(model.TrainableParameters, () => inner.Value(model, pool, weights), () => inner.Value(model, pool, weights),
            idx =>
            {
                using var batch = pool.Select(idx);
                cells.Add((long)batch.Count * batch.Tokens.Length);
                merged?.Add(model is LoraModel { IsMerged: true });
                return inner.PerExampleLosses(model, batch);
            }, pool.Count)
        {
            ExampleLengths = lengths ? pool.Tokens.SpanLengths : null,
            ForwardOnly = forwardOnly,
        };
    }

    private static InfluenceDirection RandomDirection(ICausalLM model, int seed)
    {
        var gen = new TorchSharp.torch.Generator((ulong)seed);
        var v = model.TrainableParameters.Select(p => randn(p.shape, dtype: p.dtype, generator: gen).DetachFromDisposeScope()).ToArray();
        return new InfluenceDirection(new[] { new InfluenceTerm(null, v) });
    }

    [Theory]
    [InlineData(ScoringMethod.BatchedExact)]
    [InlineData(ScoringMethod.FiniteDifference)]
    public void Bucketed_scores_equal_unbucketed_ones_and_the_batches_hold_less_padding(ScoringMethod method)
    {
        using var scope = NewDisposeScope();
        using var model = new Gpt2LM(ModelTestKit.TinyGpt2, dtype: ScalarType.Float64, seed: 2);
        model.SetTraining(false);
        using var pool = Pool();
        using var v = RandomDirection(model, 5);
        var bucketedCells = new List<long>();
        var plainCells = new List<long>();
        var bucketed = new InfluenceScorer(method, chunkSize: 4).Score(Problem(model, pool, bucketedCells), v);
        var plain = new InfluenceScorer(method, chunkSize: 4, lengthBucketing: false).Score(Problem(model, pool, plainCells), v);
        var noLengths = new InfluenceScorer(method, chunkSize: 4).Score(Problem(model, pool, new List<long>(), lengths: false), v);

        double scale = plain.Max(Math.Abs);
        Assert.True(scale > 0);
        for (int i = 0; i < plain.Length; i++)
        {
            Assert.True(Math.Abs(bucketed[i] - plain[i]) <= 1e-9 * scale, $"candidate {i}: bucketed {bucketed[i]:G12}, unbucketed {plain[i]:G12}");
            Assert.Equal(plain[i], noLengths[i]); // without lengths the scorer cuts chunks in the order asked for, exactly as unbucketed
        }
        // Chunks of 4 in pool order are as wide as their longest row: 22, 24, 21, 23 columns; sorted longest first: 24, 20, 6, 4.
        int passes = method == ScoringMethod.FiniteDifference ? 2 : 1;
        Assert.Equal(passes * (4 * 22 + 4 * 24 + 4 * 21 + 2 * 23), plainCells.Sum());
        Assert.Equal(passes * (4 * 24 + 4 * 20 + 4 * 6 + 2 * 4), bucketedCells.Sum());
    }

    [Fact]
    public void Scores_of_a_subset_come_back_in_the_order_asked_for()
    {
        using var scope = NewDisposeScope();
        using var model = new Gpt2LM(ModelTestKit.TinyGpt2, dtype: ScalarType.Float64, seed: 2);
        using var pool = Pool();
        using var v = RandomDirection(model, 6);
        var problem = Problem(model, pool, new List<long>());
        var subset = new long[] { 7, 5, 0, 12, 3 };
        var scores = new InfluenceScorer(ScoringMethod.BatchedExact, chunkSize: 2).Score(problem, v, subset);
        var one = subset.Select(i => new InfluenceScorer(ScoringMethod.BatchedExact, chunkSize: 1).Score(problem, v, new[] { i })[0]).ToArray();
        for (int k = 0; k < subset.Length; k++)
            Assert.True(Math.Abs(scores[k] - one[k]) <= 1e-9 * Math.Max(1, Math.Abs(one[k])), $"position {k} (candidate {subset[k]}): {scores[k]:G12} vs {one[k]:G12}");
    }

    [Fact]
    public void Finite_differences_on_a_LoRA_model_run_on_merged_adapters_with_the_same_scores()
    {
        using var scope = NewDisposeScope();
        using var model = new Gpt2LM(ModelTestKit.TinyGpt2, dtype: ScalarType.Float64, seed: 2);
        model.SetTraining(false);
        using var lora = new LoraModel(model, new LoraOptions { TargetModules = new[] { "c_attn" }, Rank = 2, Alpha = 4, Seed = 3 });
        using (no_grad())
            foreach (var p in lora.TrainableParameters) p.add_(randn(p.shape, dtype: p.dtype, generator: new TorchSharp.torch.Generator(9)).mul_(0.1));
        using var pool = Pool();
        using var v = RandomDirection(lora, 8);
        var scorer = new InfluenceScorer(ScoringMethod.FiniteDifference, chunkSize: 4);
        int scopes = 0;
        var mergedFlags = new List<bool>();
        var merged = scorer.Score(Problem(lora, pool, new List<long>(), forwardOnly: () => { scopes++; return lora.ForwardOnly(); }, merged: mergedFlags), v);
        var plainFlags = new List<bool>();
        var twoBranch = scorer.Score(Problem(lora, pool, new List<long>(), merged: plainFlags), v);
        var exact = new InfluenceScorer(ScoringMethod.BatchedExact, chunkSize: 4).Score(Problem(lora, pool, new List<long>()), v);

        Assert.Equal(2, scopes); // one scope per parameter value: theta + eps v and theta - eps v
        Assert.All(mergedFlags, Assert.True);
        Assert.All(plainFlags, Assert.False);
        Assert.False(lora.IsMerged);
        double scale = exact.Max(Math.Abs);
        for (int i = 0; i < exact.Length; i++)
        {
            Assert.True(Math.Abs(merged[i] - twoBranch[i]) <= 1e-8 * scale, $"candidate {i}: merged {merged[i]:G12}, two-branch {twoBranch[i]:G12}");
            Assert.True(Math.Abs(merged[i] - exact[i]) <= 1e-3 * scale, $"candidate {i}: finite differences {merged[i]:G8}, exact {exact[i]:G8}");
        }
    }

    [Fact]
    public void Example_lengths_of_the_wrong_count_or_sign_are_refused_naming_the_field()
    {
        using var scope = NewDisposeScope();
        using var model = new Gpt2LM(ModelTestKit.TinyGpt2, dtype: ScalarType.Float64, seed: 2);
        using var pool = Pool();
        var e = Assert.Throws<ArgumentException>(() => new BilevelProblem(model.TrainableParameters, () => zeros(1), () => zeros(1), _ => zeros(1), 3) { ExampleLengths = new long[] { 1, 2 } });
        Assert.Contains("BilevelProblem.ExampleLengths has 2 entries but the problem has 3 candidates", e.Message);
        e = Assert.Throws<ArgumentException>(() => new BilevelProblem(model.TrainableParameters, () => zeros(1), () => zeros(1), _ => zeros(1), 2) { ExampleLengths = new long[] { 1, -2 } });
        Assert.Contains("ExampleLengths[1] = -2", e.Message);
        Assert.Equal(Lengths.Select(l => (long)l), pool.Tokens.SpanLengths);
    }

    [Fact]
    public void The_scoring_options_pass_length_bucketing_to_the_scorer()
    {
        Assert.True(new InfluenceScoringOptions().CreateScorer().LengthBucketing);
        Assert.False(new InfluenceScoringOptions { LengthBucketing = false }.CreateScorer().LengthBucketing);
        Assert.False(new InfluenceScoringOptions { LengthBucketing = false, MemoryBudgetBytes = null }.CreateScorer().LengthBucketing);
    }
}
