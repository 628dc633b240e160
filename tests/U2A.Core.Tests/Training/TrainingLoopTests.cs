using TorchSharp;
using TorchSharp.Modules;
using U2A.Testing;
using U2A.Core.Data;
using U2A.Core.Models;
using U2A.Core.Training;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.TrainingTestUtil;

namespace U2A.Core.Tests.Training;

public class TrainingLoopTests
{
    private static TrainingLoopOptions AdamW(int accumulation = 1, double? clip = null) => new()
    {
        Optimizer = new OptimizerSettings { LearningRate = 0.05, WeightDecay = 0.01 },
        Schedule = LearningRateSchedule.Cosine(warmupSteps: 1),
        GradientAccumulationSteps = accumulation,
        MaxGradNorm = clip,
    };

    [Fact]
    public void Clipping_scales_the_gradient_to_the_max_norm_and_reports_the_unclipped_norm()
    {
        // loss = sum(c * p) with c = (3, 4): gradient norm 5. SGD with lr 1 moves p by exactly -clipped gradient.
        using var c = tensor(new[] { 3.0, 4.0 });
        foreach (var (maxNorm, scale) in new[] { ((double?)1.0, 1.0 / (5.0 + 1e-6)), ((double?)null, 1.0), ((double?)10.0, 1.0) })
        {
            using var p = new Parameter(zeros(2, dtype: ScalarType.Float64));
            var options = new TrainingLoopOptions { Optimizer = new OptimizerSettings { Kind = OptimizerKind.Sgd, LearningRate = 1.0 }, MaxGradNorm = maxNorm };
            using var loop = new TrainingLoop(new[] { p }, 1, options);
            var m = loop.Step((_, _) => (c * p).sum());
            Assert.Equal(5.0, m.GradNorm, 12);
            var moved = p.detach().data<double>().ToArray();
            Assert.Equal(-3.0 * scale, moved[0], 12);
            Assert.Equal(-4.0 * scale, moved[1], 12);
            if (maxNorm == 1.0) Assert.Equal(1.0, Math.Sqrt(moved[0] * moved[0] + moved[1] * moved[1]), 5);
        }
    }

    [Fact]
    public void AdamW_uses_the_configured_betas_epsilon_and_decoupled_weight_decay()
    {
        // loss = sum(c * p): the gradient is c at every step. Non-default settings, each large enough to show in the update.
        const double lr = 0.1, b1 = 0.5, b2 = 0.8, eps = 0.1, wd = 0.2;
        double[] c = { 3.0, 0.5 }, expected = { 1.0, -2.0 }, m = new double[2], v = new double[2];
        using var ct = tensor(c);
        using var p = new Parameter(tensor(expected.ToArray()));
        var options = new TrainingLoopOptions
        {
            Optimizer = new OptimizerSettings { Kind = OptimizerKind.AdamW, LearningRate = lr, Beta1 = b1, Beta2 = b2, Epsilon = eps, WeightDecay = wd },
            Schedule = LearningRateSchedule.Constant(),
        };
        using var loop = new TrainingLoop(new[] { p }, 3, options);
        for (int t = 1; t <= 3; t++)
        {
            loop.Step((_, _) => (ct * p).sum());
            for (int i = 0; i < 2; i++)
            {
                // Loshchilov & Hutter: p <- p (1 - lr wd) - lr m_hat / (sqrt(v_hat) + eps), bias-corrected moments.
                m[i] = b1 * m[i] + (1 - b1) * c[i];
                v[i] = b2 * v[i] + (1 - b2) * c[i] * c[i];
                double mHat = m[i] / (1 - Math.Pow(b1, t)), vHat = v[i] / (1 - Math.Pow(b2, t));
                expected[i] = expected[i] * (1 - lr * wd) - lr * mHat / (Math.Sqrt(vHat) + eps);
            }
            var actual = p.detach().data<double>().ToArray();
            Assert.Equal(expected[0], actual[0], 12);
            Assert.Equal(expected[1], actual[1], 12);
        }
    }

    [Fact]
    public void Sgd_uses_the_configured_momentum_and_l2_weight_decay()
    {
        // g = c + wd p; buf = g at step 1, then momentum * buf + g; p <- p - lr buf (PyTorch SGD, no dampening).
        const double lr = 0.1, momentum = 0.5, wd = 0.2;
        double[] c = { 3.0, 0.5 }, expected = { 1.0, -2.0 }, buf = new double[2];
        using var ct = tensor(c);
        using var p = new Parameter(tensor(expected.ToArray()));
        var options = new TrainingLoopOptions
        {
            Optimizer = new OptimizerSettings { Kind = OptimizerKind.Sgd, LearningRate = lr, Momentum = momentum, WeightDecay = wd },
            Schedule = LearningRateSchedule.Constant(),
        };
        using var loop = new TrainingLoop(new[] { p }, 3, options);
        for (int t = 1; t <= 3; t++)
        {
            loop.Step((_, _) => (ct * p).sum());
            for (int i = 0; i < 2; i++)
            {
                double g = c[i] + wd * expected[i];
                buf[i] = t == 1 ? g : momentum * buf[i] + g;
                expected[i] -= lr * buf[i];
            }
            var actual = p.detach().data<double>().ToArray();
            Assert.Equal(expected[0], actual[0], 12);
            Assert.Equal(expected[1], actual[1], 12);
        }
    }

    [Fact]
    public void Accumulating_two_micro_batches_equals_one_batch_of_their_union()
    {
        using var scope = NewDisposeScope();
        long[] first = { 0, 1, 2, 3 }, second = { 4, 5, 6, 7 }, union = first.Concat(second).ToArray();
        using var a = new Regression();
        using var b = new Regression();
        using (var loopA = new TrainingLoop(a.Parameters, 4, AdamW(accumulation: 2, clip: 0.5)))
            loopA.Run((_, m) => a.Loss(m == 0 ? first : second));
        using (var loopB = new TrainingLoop(b.Parameters, 4, AdamW(accumulation: 1, clip: 0.5)))
            loopB.Run((_, _) => b.Loss(union));
        double diff = MaxAbsDiff(a.Parameters, b.Parameters);
        Assert.True(diff < 1e-6, $"max |theta_accumulated - theta_union| = {diff}");
        Assert.True(MaxAbsDiff(a.Parameters, new Regression().Parameters) > 1e-2, "the parameters must have moved");
    }

    [Fact]
    public void Micro_batch_metrics_are_averaged()
    {
        using var p = new Parameter(zeros(1, dtype: ScalarType.Float64));
        using var loop = new TrainingLoop(new[] { p }, 1, new TrainingLoopOptions { GradientAccumulationSteps = 2 });
        var m = loop.Step((_, mb) => new StepLoss((p * 0 + mb + 1).sum(), new Dictionary<string, double> { ["x"] = 10 * mb }));
        Assert.Equal(1.5, m.Loss, 12);
        Assert.Equal(5.0, m.Metrics["x"], 12);
    }

    [Theory]
    [InlineData(OptimizerKind.AdamW)]
    [InlineData(OptimizerKind.Sgd)]
    public void Optimizer_state_round_trips_for_each_optimizer_kind(OptimizerKind kind)
    {
        // Resume after 2 of 5 steps (SGD with momentum: its momentum buffers must survive) equals the straight run bitwise.
        var options = new TrainingLoopOptions { Optimizer = new() { Kind = kind, LearningRate = 0.05, Momentum = 0.9 }, Schedule = LearningRateSchedule.Linear(1) };
        StepLossFunction Loss(Regression r) => (step, _) => r.Loss(new long[] { step % 8, (step + 3) % 8 });
        using var straight = new Regression();
        using (var loop = new TrainingLoop(straight.Parameters, 5, options)) loop.Run(Loss(straight));
        using var first = new Regression();
        TrainingLoopState state;
        using (var loop = new TrainingLoop(first.Parameters, 5, options)) { loop.Run(Loss(first), maxSteps: 2); state = loop.CaptureState(includeRng: false); }
        using var resumed = new Regression();   // same data; its parameters are overwritten below
        CopyInto(resumed.Parameters, first.Parameters);
        using (var loop = new TrainingLoop(resumed.Parameters, 5, options)) { loop.RestoreState(state); loop.Run(Loss(resumed)); }
        AssertBitwiseEqual(straight.Parameters, resumed.Parameters);
        Assert.True(MaxAbsDiff(straight.Parameters, first.Parameters) > 0, "the last 3 steps must move the parameters");
    }

    [Fact]
    public void Restoring_a_state_for_other_parameters_is_rejected()
    {
        using var a = new Regression();
        using var p = new Parameter(zeros(5, dtype: ScalarType.Float64));
        using var loopA = new TrainingLoop(a.Parameters, 2);
        using var loopB = new TrainingLoop(new[] { p }, 2);
        var ex = Assert.Throws<ArgumentException>(() => loopB.RestoreState(loopA.CaptureState()));
        Assert.Contains("2 parameters", ex.Message);
    }

    [Fact]
    public void Cancellation_between_steps_leaves_the_last_completed_step()
    {
        using var r = new Regression();
        using var cts = new CancellationTokenSource();
        Tensor[]? afterStep2 = null;
        using var loop = new TrainingLoop(r.Parameters, 10, AdamW());
        var progress = new SyncProgress<TrainingStepMetrics>(m =>
        {
            if (m.Step == 2) { afterStep2 = Snapshot(r.Parameters); cts.Cancel(); }
        });
        Assert.ThrowsAny<OperationCanceledException>(() => loop.Run((_, _) => r.Loss(new long[] { 0, 1, 2 }), progress, cancellationToken: cts.Token));
        Assert.Equal(3, loop.CompletedSteps);
        AssertBitwiseEqual(afterStep2!, Snapshot(r.Parameters));
    }

    [Fact]
    public void Cancellation_between_micro_batches_abandons_the_step()
    {
        using var r = new Regression();
        using var cts = new CancellationTokenSource();
        using var loop = new TrainingLoop(r.Parameters, 10, AdamW(accumulation: 2));
        loop.Step((_, _) => r.Loss(new long[] { 0, 1 }));
        var afterStep0 = Snapshot(r.Parameters);
        Assert.ThrowsAny<OperationCanceledException>(() => loop.Step((_, mb) =>
        {
            if (mb == 0) cts.Cancel();   // cancelled after micro-batch 0 of step 1 has been backpropagated
            return r.Loss(new long[] { 0, 1 });
        }, cts.Token));
        Assert.Equal(1, loop.CompletedSteps);
        AssertBitwiseEqual(afterStep0, Snapshot(r.Parameters));
        Assert.All(r.Parameters, p => Assert.Equal(0.0, p.grad!.abs().sum().ToDouble()));
    }

    [Fact]
    public void A_nan_loss_raises_with_the_step_and_leaves_the_last_good_parameters()
    {
        using var r = new Regression();
        using var loop = new TrainingLoop(r.Parameters, 10, AdamW(accumulation: 2));
        Tensor[]? afterStep2 = null;
        var progress = new SyncProgress<TrainingStepMetrics>(m => { if (m.Step == 2) afterStep2 = Snapshot(r.Parameters); });
        var ex = Assert.Throws<NonFiniteLossException>(() => loop.Run((step, mb) =>
            step == 3 && mb == 1 ? r.Loss(new long[] { 0 }) * double.NaN : r.Loss(new long[] { 0, 1 }), progress));
        Assert.Equal(3, ex.Step);
        Assert.Equal(1, ex.MicroBatch);
        Assert.Contains("step 3", ex.Message);
        Assert.Equal(3, loop.CompletedSteps);
        AssertBitwiseEqual(afterStep2!, Snapshot(r.Parameters));
        Assert.All(r.Parameters, p => Assert.Equal(0.0, p.grad!.abs().sum().ToDouble()));

        // The run can go on from there with a healthy loss.
        loop.Step((_, _) => r.Loss(new long[] { 0, 1 }));
        Assert.Equal(4, loop.CompletedSteps);
    }

    [Fact]
    public void A_non_finite_gradient_raises_before_the_update()
    {
        using var p = new Parameter(ones(2, dtype: ScalarType.Float64));
        using var loop = new TrainingLoop(new[] { p }, 3, AdamW());
        // sqrt at 0: finite value, infinite derivative times 0 = NaN gradient.
        var ex = Assert.Throws<NonFiniteLossException>(() => loop.Step((_, _) => (p - p.detach()).sqrt().sum()));
        Assert.Equal("gradient norm", ex.Quantity);
        Assert.Equal(0, ex.Step);
        Assert.Equal(new[] { 1.0, 1.0 }, p.detach().data<double>().ToArray());
    }

    [Fact]
    public void Options_are_validated_with_the_field_named()
    {
        using var p = new Parameter(zeros(1));
        ArgumentException Bad(TrainingLoopOptions o) => Assert.ThrowsAny<ArgumentException>(() => new TrainingLoop(new[] { p }, 5, o));
        Assert.Contains("TrainingLoopOptions.Optimizer.LearningRate", Bad(new() { Optimizer = new() { LearningRate = -1 } }).Message);
        Assert.Contains("TrainingLoopOptions.Optimizer.Beta2", Bad(new() { Optimizer = new() { Beta2 = 1.0 } }).Message);
        Assert.Contains("TrainingLoopOptions.Schedule.WarmupSteps", Bad(new() { Schedule = new() { WarmupSteps = -1 } }).Message);
        Assert.Contains("TrainingLoopOptions.MaxGradNorm", Bad(new() { MaxGradNorm = 0 }).Message);
        Assert.Contains("TrainingLoopOptions.GradientAccumulationSteps", Bad(new() { GradientAccumulationSteps = 0 }).Message);
    }

    [Fact]
    public void Batch_order_is_a_seeded_permutation_per_epoch()
    {
        var order = new BatchOrder(count: 7, batchSize: 3, seed: 42);
        Assert.Equal(3, order.BatchesPerEpoch);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var seen = Enumerable.Range(0, 3).SelectMany(b => order.Batch(epoch * 3 + b)).ToArray();
            Assert.Equal(Enumerable.Range(0, 7).Select(i => (long)i), seen.OrderBy(i => i));
        }
        Assert.Single(order.Batch(2));                                   // the last batch of an epoch is the rest
        Assert.Equal(order.Permutation(1), new BatchOrder(7, 3, 42).Permutation(1));
        Assert.NotEqual(order.Permutation(0), order.Permutation(1));
        Assert.NotEqual(order.Permutation(0), new BatchOrder(7, 3, 43).Permutation(0));
        Assert.Equal(new long[] { 3, 4, 5 }, new BatchOrder(7, 3, 42, shuffle: false).Batch(1));
    }

    /// <summary>An IProgress that reports synchronously (Progress&lt;T&gt; would post to the thread pool).</summary>
}

public class SeededTrainingLoopTests
{
    private static TrainingLoopOptions AdamW(int accumulation = 1, double? clip = null) => new()
    {
        Optimizer = new OptimizerSettings { LearningRate = 0.05, WeightDecay = 0.01 },
        Schedule = LearningRateSchedule.Cosine(warmupSteps: 1),
        GradientAccumulationSteps = accumulation,
        MaxGradNorm = clip,
    };

    /// <summary>A TinyTransformerLM next-token run whose loss also draws torch randomness (noise from a generator seeded
    /// by the micro-batch index, so a resumed run draws what the uninterrupted one did; nothing touches torch's global
    /// generator), with a seeded data order.</summary>
    private static (TinyTransformerLM Model, StepLossFunction Loss, TokenBatch Data) TinyRun(long modelSeed, BatchOrder order, ulong noiseSeed = 11)
    {
        var model = new TinyTransformerLM(vocabularySize: 12, width: 16, layers: 1, heads: 2, maxLength: 16, seed: modelSeed);
        var gen = new Generator(7);
        var ids = randint(0, 12, new long[] { order.Count, 6 }, generator: gen).DetachFromDisposeScope();
        var data = new TokenBatch(ids, ones_like(ids).DetachFromDisposeScope(), ones_like(ids).DetachFromDisposeScope());
        StepLossFunction loss = (step, mb) =>
        {
            using var rows = data.Select(order.Batch((long)step * 2 + mb));
            var lp = ResponseLogProbs.Compute(model, rows);
            using var noiseGenerator = new Generator(noiseSeed * 1_000_003 + (ulong)(step * 2 + mb));
            var noise = randn(1, generator: noiseGenerator).item<float>() * 1e-3;
            return (-lp.Mean).mean() * (1 + noise);
        };
        return (model, loss, data);
    }

    [Fact]
    public void Seeded_runs_repeat_bitwise()
    {
        var order = new BatchOrder(count: 10, batchSize: 3, seed: 5);
        var results = new List<Tensor[]>();
        Tensor[]? start = null;
        // Runs 0 and 1 share every seed; run 2 has another data order.
        foreach (var runOrder in new[] { order, order, new BatchOrder(count: 10, batchSize: 3, seed: 6) })
        {
            var (model, loss, data) = TinyRun(modelSeed: 3, runOrder);
            using (model) using (data)
            using (var loop = new TrainingLoop(model.TrainableParameters, 5, AdamW(accumulation: 2, clip: 1.0)))
            {
                start ??= Snapshot(model.TrainableParameters);
                loop.Run(loss);
                results.Add(Snapshot(model.TrainableParameters));
            }
        }
        AssertBitwiseEqual(results[0], results[1]);
        // Not trivially equal: training moved the parameters, and another data order ends elsewhere.
        Assert.True(MaxAbsDiff(start!, results[0]) > 1e-4, "training left the parameters at their start");
        Assert.True(MaxAbsDiff(results[0], results[2]) > 0, "another data order gave the same parameters");
    }

    [Fact]
    public void Resuming_from_captured_state_equals_the_uninterrupted_run_bitwise()
    {
        var order = new BatchOrder(count: 10, batchSize: 3, seed: 5);
        const int total = 6, split = 3;

        Tensor[] uninterrupted;
        {
            var (model, loss, data) = TinyRun(3, order);
            using (model) using (data)
            using (var loop = new TrainingLoop(model.TrainableParameters, total, AdamW(accumulation: 2, clip: 1.0)))
            {
                loop.Run(loss);
                uninterrupted = Snapshot(model.TrainableParameters);
            }
        }

        Tensor[] saved;
        byte[] savedState;
        {
            var (model, loss, data) = TinyRun(3, order);
            using (model) using (data)
            using (var loop = new TrainingLoop(model.TrainableParameters, total, AdamW(accumulation: 2, clip: 1.0)))
            {
                loop.Run(loss, maxSteps: split);
                Assert.Equal(split, loop.CompletedSteps);
                saved = Snapshot(model.TrainableParameters);
                // Steps 4..6 move the parameters on, so a resumed run that did nothing would not match.
                Assert.True(MaxAbsDiff(saved, uninterrupted) > 1e-4, "the second half of the run left the parameters unchanged");
                using var stream = new MemoryStream();
                loop.CaptureState().WriteTo(stream);
                savedState = stream.ToArray();
            }
        }

        // A fresh process-like start: other weights, a disturbed global generator, a new optimizer.
        using (randn(1000)) { }
        {
            var (model, loss, data) = TinyRun(modelSeed: 99, order);
            using (model) using (data)
            using (var loop = new TrainingLoop(model.TrainableParameters, total, AdamW(accumulation: 2, clip: 1.0)))
            {
                CopyInto(model.TrainableParameters, saved);
                loop.RestoreState(TrainingLoopState.ReadFrom(new MemoryStream(savedState)));
                Assert.Equal(split, loop.CompletedSteps);
                var rest = loop.Run(loss);
                Assert.Equal(split, rest[0].Step);
                AssertBitwiseEqual(uninterrupted, Snapshot(model.TrainableParameters));
            }
        }
    }
}
