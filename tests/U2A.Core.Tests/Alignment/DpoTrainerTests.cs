using TorchSharp;
using U2A.Testing;
using U2A.Core.Alignment;
using U2A.Core.Data;
using U2A.Core.Models;
using U2A.Core.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Alignment;

public class DpoTrainerTests(ITestOutputHelper output)
{
    private static SequenceLogProbs Lp(params double[] sums) => new(tensor(sums), ones(sums.Length, dtype: ScalarType.Float64));

    [Fact]
    public void Metrics_equal_hand_computed_values_on_fixed_log_probs()
    {
        using var scope = NewDisposeScope();
        var (c, r) = (Lp(-1, -2, -3), Lp(-2, -1, -5));
        var (rc, rr) = (Lp(-1.5, -1.5, -3), Lp(-1.5, -1.5, -4));
        // beta = 0.5: r_w = 0.5 * (0.5, -0.5, 0) = (0.25, -0.25, 0); r_l = 0.5 * (-0.5, 0.5, -1) = (-0.25, 0.25, -0.5).
        // h = (1, -1, 1), beta * h = (0.5, -0.5, 0.5).
        static double Softplus(double x) => Math.Log(1 + Math.Exp(x));
        var m = DpoMetrics.Compute(c, r, rc, rr, beta: 0.5);
        Assert.Equal((2 * Softplus(-0.5) + Softplus(0.5)) / 3, m.Loss, 12);
        Assert.Equal(0.0, m.RewardsChosen, 12);
        Assert.Equal(-1.0 / 6, m.RewardsRejected, 12);
        Assert.Equal(2.0 / 3, m.RewardsAccuracies, 12);
        Assert.Equal(1.0 / 6, m.RewardsMargins, 12);
        Assert.Equal(-2.0, m.LogpsChosen, 12);
        Assert.Equal(-8.0 / 3, m.LogpsRejected, 12);
        Assert.Equal(4.0 / 3, DpoMetrics.Compute(c, r, rc, rr, 0.5, DpoLossType.Ipo).Loss, 12);    // (h - 1/(2 beta))^2 = (0, 4, 0)
        Assert.Equal(5.0 / 6, DpoMetrics.Compute(c, r, rc, rr, 0.5, DpoLossType.Hinge).Loss, 12);  // relu(1 - beta h) = (0.5, 1.5, 0.5)

        var d = m.ToDictionary();
        Assert.Equal(new[] { "loss", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected" }, d.Keys);
        Assert.Equal(m, DpoMetrics.FromDictionary(d));
    }

    /// <summary>
    /// Prompts of 3 tokens from 0..7; the chosen response continues with 2 tokens from 8..13, the rejected one with
    /// 2 tokens from 14..19 (the model must learn to prefer the first range after any prompt).
    /// </summary>
    private static (TokenBatch Chosen, TokenBatch Rejected) SyntheticPairs(int pairs, long seed)
    {
        var gen = new Generator((ulong)seed);
        var prompt = randint(0, 8, new long[] { pairs, 3 }, generator: gen);
        var good = randint(8, 14, new long[] { pairs, 2 }, generator: gen);
        var bad = randint(14, 20, new long[] { pairs, 2 }, generator: gen);
        var response = cat(new[] { zeros(pairs, 3, dtype: ScalarType.Int64), ones(pairs, 2, dtype: ScalarType.Int64) }, 1);
        TokenBatch Make(Tensor resp) { var ids = cat(new[] { prompt, resp }, 1); return new TokenBatch(ids, ones_like(ids), response.clone()); }
        return (Make(good), Make(bad));
    }

    [Fact]
    public void A_short_dpo_run_lifts_reward_accuracy_on_its_training_pairs()
    {
        using var scope = NewDisposeScope();
        using var model = new TinyTransformerLM(vocabularySize: 20, width: 16, layers: 1, heads: 2, maxLength: 8, seed: 1);
        var (chosen, rejected) = SyntheticPairs(16, seed: 2);
        using var reference = new ParameterSnapshotReference(model);
        using var pairs = PreferenceBatch.WithReference(chosen, rejected, reference);
        // The policy starts near, not at, the reference (as a fine-tuned policy would), so the strict
        // r_w > r_l accuracy starts near chance instead of at exactly 0 (all rewards 0).
        using (no_grad())
        {
            var gen = new Generator(3);
            foreach (var p in model.TrainableParameters) p.add_(randn(p.shape, generator: gen) * 0.05);
        }
        var trainer = new DpoTrainer(model, new DpoTrainerOptions
        {
            Beta = 0.1,
            BatchSize = 8,
            MaxSteps = 30,
            Training = new TrainingLoopOptions
            {
                Optimizer = new OptimizerSettings { LearningRate = 5e-3 },
                Schedule = LearningRateSchedule.Cosine(warmupSteps: 3),
                MaxGradNorm = 1.0,
            },
        });
        var before = trainer.Evaluate(pairs);
        var result = trainer.Train(pairs);
        var after = trainer.Evaluate(pairs);
        output.WriteLine($"before: accuracy {before.RewardsAccuracies:F3}, margin {before.RewardsMargins:F4}, loss {before.Loss:F4}");
        output.WriteLine($"after {result.Steps} steps: accuracy {after.RewardsAccuracies:F3}, margin {after.RewardsMargins:F4}, loss {after.Loss:F4}, logps/chosen {after.LogpsChosen:F3}, logps/rejected {after.LogpsRejected:F3}");
        Assert.Equal(30, result.Steps);
        Assert.InRange(before.RewardsAccuracies, 0.25, 0.75);
        Assert.True(after.RewardsAccuracies >= 0.9, $"rewards/accuracies {before.RewardsAccuracies:F3} -> {after.RewardsAccuracies:F3} (expected >= 0.9)");
        Assert.True(after.Loss < before.Loss, $"loss {before.Loss:F4} -> {after.Loss:F4}");
        Assert.True(after.RewardsMargins > before.RewardsMargins);
    }

    [Fact]
    public void Step_metrics_are_the_metrics_of_the_step_pairs_before_the_update()
    {
        using var scope = NewDisposeScope();
        using var model = new TinyTransformerLM(vocabularySize: 20, width: 16, layers: 1, heads: 2, maxLength: 8, seed: 4);
        var (chosen, rejected) = SyntheticPairs(6, seed: 5);
        using var pairs = new PreferenceBatch(chosen, rejected);
        // Whole data in one micro-batch: step 0's pairs are all pairs; the reference is the model itself (computed by Train).
        var trainer = new DpoTrainer(model, new DpoTrainerOptions { BatchSize = 6, MaxSteps = 2, Training = new() { Optimizer = new() { LearningRate = 1e-2 } } });
        var history = trainer.Train(pairs).History;
        var first = DpoMetrics.FromDictionary(history[0].Metrics);
        Assert.Equal(Math.Log(2), first.Loss, 5);          // policy = reference: -log sigmoid(0)
        Assert.Equal(Math.Log(2), history[0].Loss, 5);
        Assert.Equal(0.0, first.RewardsChosen, 6);
        Assert.Equal(0.0, first.RewardsAccuracies, 12);    // strict r_w > r_l, as TRL
        Assert.True(history[0].GradNorm > 0);

        // Step 1's metrics were measured at the parameters after step 0: evaluate there by replaying step 0.
        using var replay = new TinyTransformerLM(vocabularySize: 20, width: 16, layers: 1, heads: 2, maxLength: 8, seed: 4);
        using var reference = new ParameterSnapshotReference(replay);
        using var cached = PreferenceBatch.WithReference(chosen, rejected, reference);
        var replayTrainer = new DpoTrainer(replay, trainer.Options with { MaxSteps = 1 });
        replayTrainer.Train(cached);
        var expected = replayTrainer.Evaluate(cached);
        var second = DpoMetrics.FromDictionary(history[1].Metrics);
        // Not trivially equal: step 0 moved the parameters, so step 1's metrics differ from step 0's (a run that did not
        // update, replayed by a trainer that did not either, would also give ln 2 on both sides).
        Assert.True(Math.Abs(second.Loss - first.Loss) > 1e-3, $"step 0 left the loss at {second.Loss:G6}");
        Assert.Equal(expected.Loss, second.Loss, 5);
        Assert.Equal(expected.RewardsChosen, second.RewardsChosen, 5);
        Assert.Equal(expected.RewardsRejected, second.RewardsRejected, 5);
        Assert.Equal(expected.RewardsAccuracies, second.RewardsAccuracies, 12);
        Assert.Equal(expected.LogpsChosen, second.LogpsChosen, 4);
        Assert.Equal(expected.LogpsRejected, second.LogpsRejected, 4);
    }

    [Fact]
    public void Steps_follow_epochs_batch_size_and_accumulation()
    {
        using var model = new TinyTransformerLM(vocabularySize: 20, width: 8, layers: 1, heads: 2, maxLength: 8);
        DpoTrainer T(DpoTrainerOptions o) => new(model, o);
        Assert.Equal(3, T(new() { BatchSize = 4, Epochs = 1 }).StepsFor(10));                   // ceil(10 / 4)
        Assert.Equal(6, T(new() { BatchSize = 4, Epochs = 2 }).StepsFor(10));
        Assert.Equal(3, T(new() { BatchSize = 4, Epochs = 2, Training = new() { GradientAccumulationSteps = 2 } }).StepsFor(10));
        Assert.Equal(7, T(new() { MaxSteps = 7 }).StepsFor(10));
    }

    [Fact]
    public void Options_are_validated_with_the_field_named()
    {
        using var model = new TinyTransformerLM(vocabularySize: 20, width: 8, layers: 1, heads: 2, maxLength: 8);
        string Bad(DpoTrainerOptions o) => Assert.ThrowsAny<ArgumentException>(() => new DpoTrainer(model, o)).Message;
        Assert.Contains("DpoTrainerOptions.Beta", Bad(new() { Beta = 0 }));
        Assert.Contains("DpoTrainerOptions.BatchSize", Bad(new() { BatchSize = 0 }));
        Assert.Contains("DpoTrainerOptions.Epochs", Bad(new() { Epochs = 0 }));
        Assert.Contains("DpoTrainerOptions.MaxSteps", Bad(new() { MaxSteps = 0 }));
        Assert.Contains("DpoTrainerOptions.Training.Optimizer.LearningRate", Bad(new() { Training = new() { Optimizer = new() { LearningRate = double.NaN } } }));
    }

    [Fact]
    public void Cancellation_stops_the_run_at_the_last_completed_step()
    {
        using var scope = NewDisposeScope();
        using var model = new TinyTransformerLM(vocabularySize: 20, width: 8, layers: 1, heads: 2, maxLength: 8, seed: 6);
        var (chosen, rejected) = SyntheticPairs(4, seed: 7);
        using var pairs = new PreferenceBatch(chosen, rejected);
        using var cts = new CancellationTokenSource();
        var trainer = new DpoTrainer(model, new DpoTrainerOptions { BatchSize = 2, MaxSteps = 10 });
        int reported = 0;
        var progress = new SyncProgress<TrainingStepMetrics>(m => { reported++; if (m.Step == 1) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => trainer.Train(pairs, progress: progress, cancellationToken: cts.Token));
        Assert.Equal(2, reported);
    }
}
