// BEGIN training usings
using TorchSharp;
using U2A.Core.Alignment;      // DpoTrainer, DpoTrainerOptions, PreferenceBatch
using U2A.Core.Models;         // ParameterSnapshotReference
using U2A.Core.Training;       // TrainingLoop, TrainingLoopOptions, OptimizerSettings, LearningRateSchedule, BatchOrder
// END training usings
using Microsoft.Extensions.Logging;
using U2A.Core.Unlearning;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Docs;

/// <summary>Runs the two examples of docs/training.md (<see cref="DocBlocksTests"/> checks that the page holds them verbatim).</summary>
public class TrainingExampleTests
{
    [Fact]
    public void Training_loop_example_runs_weighted_gradient_ascent()
    {
        using var scope = NewDisposeScope();
        using var model = DocsKit.TinyModel(seed: 80);
        using var forget = new ForgetBatch(DocsKit.RandomBatch(20, seed: 81));
        using var objective = new InnerObjective(new GradAscent());   // l_i = -nll_mean_i: the loss is minus the forget NLL
        var weights = full(20, 1.0 / 20, dtype: ScalarType.Float64);
        IProgress<TrainingStepMetrics>? progress = null;
        double maxForgetNll = 1e9;
        var ct = CancellationToken.None;
        var (before, count) = DocsKit.LogProbsByHand(model, forget.Tokens);

        // BEGIN training loop example
        using var loop = new TrainingLoop(model.TrainableParameters, totalSteps: 100, new TrainingLoopOptions
        {
            Optimizer = new OptimizerSettings { Kind = OptimizerKind.AdamW, LearningRate = 1e-4, WeightDecay = 0.01 },
            Schedule = LearningRateSchedule.Cosine(warmupSteps: 10),   // the U2A reference inner loop: AdamW + cosine
            MaxGradNorm = 1.0,
            GradientAccumulationSteps = 2,
        });
        var order = new BatchOrder(count: forget.Count, batchSize: 8, seed: 42);  // the data order is the only randomness
        var history = loop.Run((step, microBatch) =>
        {
            long[] idx = order.Batch(loop.MicroBatchIndex(step, microBatch));
            var batch = forget.Select(idx);                                  // freed with the step's dispose scope
            var w = weights.index_select(0, torch.tensor(idx, device: weights.device));
            var loss = objective.Value(model, batch, w);                     // sum_i w_i l_i (+ the objective's terms)
            return new StepLoss(loss, new Dictionary<string, double> { ["forget_loss"] = loss.ToDouble() });
        }, progress, stopWhen: m => -m.Loss > maxForgetNll, cancellationToken: ct);
        // END training loop example

        Assert.Equal(100, history.Count);
        Assert.All(history, m => Assert.True(m.GradNorm > 0 && m.Metrics.ContainsKey("forget_loss")));
        // Gradient ascent raised the NLL of the negatives.
        var (after, _) = DocsKit.LogProbsByHand(model, forget.Tokens);
        Assert.True(after.Zip(count, (s, c) => -s / c).Average() > before.Zip(count, (s, c) => -s / c).Average());
    }

    [Fact]
    public void Dpo_trainer_example_runs_and_lowers_the_dpo_loss()
    {
        using var scope = NewDisposeScope();
        using var model = DocsKit.TinyModel(seed: 90);
        var chosen = DocsKit.RandomBatch(16, seed: 91);
        var rejected = DocsKit.RandomBatch(16, seed: 92);
        ILogger<DpoTrainer>? logger = null;
        IProgress<TrainingStepMetrics>? progress = null;
        var ct = CancellationToken.None;

        // BEGIN dpo trainer example
        using var reference = new ParameterSnapshotReference(model);                 // pi_ref = the model now
        using var pairs = PreferenceBatch.WithReference(chosen, rejected, reference);  // reference log-probs, once
        var trainer = new DpoTrainer(model, new DpoTrainerOptions
        {
            Beta = 0.1, LossType = DpoLossType.Sigmoid, BatchSize = 8, Epochs = 3, Seed = 42,
            Training = new TrainingLoopOptions
            {
                Optimizer = new OptimizerSettings { LearningRate = 5e-6 },
                Schedule = LearningRateSchedule.Cosine(warmupSteps: 10),
                MaxGradNorm = 1.0,
            },
        }, logger);
        DpoMetrics before = trainer.Evaluate(pairs);
        DpoTrainingResult result = trainer.Train(pairs, progress: progress, cancellationToken: ct);
        DpoMetrics after = trainer.Evaluate(pairs);
        // END dpo trainer example

        Assert.Equal(trainer.StepsFor(16), result.Steps);
        Assert.Equal(6, result.Steps);                       // 3 epochs x 2 batches of 8
        Assert.Equal(Math.Log(2), before.Loss, 12);          // policy = reference: every margin is 0
        Assert.True(after.Loss < before.Loss, $"DPO loss {before.Loss} -> {after.Loss}");
    }
}
