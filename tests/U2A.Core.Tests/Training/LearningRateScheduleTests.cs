using TorchSharp.Modules;
using U2A.Core.Training;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Training;

public class LearningRateScheduleTests
{
    [Theory]
    [InlineData(0, 0.0)]   // warm-up starts at 0 (Hugging Face convention)
    [InlineData(1, 0.25)]
    [InlineData(2, 0.5)]
    [InlineData(4, 1.0)]   // warm-up done
    [InlineData(9, 1.0)]
    public void Constant_with_warmup_matches_hand_values(int step, double expected)
        => Assert.Equal(expected, LearningRateSchedule.Constant(warmupSteps: 4).Factor(step, totalSteps: 10), 12);

    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(1, 0.5)]
    [InlineData(2, 1.0)]   // end of warm-up
    [InlineData(6, 0.5)]   // (10 - 6) / (10 - 2)
    [InlineData(9, 0.125)]
    [InlineData(10, 0.0)]
    public void Linear_with_warmup_matches_hand_values(int step, double expected)
        => Assert.Equal(expected, LearningRateSchedule.Linear(warmupSteps: 2).Factor(step, totalSteps: 10), 12);

    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(1, 0.5)]
    [InlineData(2, 1.0)]                    // cosine start: cos(0)
    [InlineData(4, 0.85355339059327373)]    // p = 1/4: (1 + cos(pi/4)) / 2
    [InlineData(6, 0.5)]                    // midpoint: (1 + cos(pi/2)) / 2
    [InlineData(10, 0.0)]                   // end: (1 + cos(pi)) / 2
    public void Cosine_with_warmup_matches_hand_values(int step, double expected)
        => Assert.Equal(expected, LearningRateSchedule.Cosine(warmupSteps: 2).Factor(step, totalSteps: 10), 12);

    [Fact]
    public void Cosine_floor_and_warmup_ratio()
    {
        var s = LearningRateSchedule.Cosine(minLearningRateRatio: 0.1);
        Assert.Equal(1.0, s.Factor(0, 10), 12);
        Assert.Equal(0.55, s.Factor(5, 10), 12);   // 0.1 + 0.9 * 0.5
        Assert.Equal(0.1, s.Factor(10, 10), 12);
        var r = new LearningRateSchedule { Kind = LearningRateScheduleKind.Linear, WarmupRatio = 0.1 };
        Assert.Equal(3, r.WarmupFor(25));          // ceil(2.5)
        Assert.Equal(2.0 / 3.0, r.Factor(2, 25), 12);
        Assert.Equal(2e-4 * 0.55, s.At(2e-4, 5, 10), 15);
    }

    [Fact]
    public void The_loop_applies_the_scheduled_rate_to_the_update()
    {
        // SGD on loss = sum(c * p): the gradient is c, so each update is exactly -lr(step) * c.
        using var p = new Parameter(zeros(2, dtype: ScalarType.Float64));
        using var c = tensor(new[] { 1.0, -2.0 });
        var options = new TrainingLoopOptions
        {
            Optimizer = new OptimizerSettings { Kind = OptimizerKind.Sgd, LearningRate = 0.1 },
            Schedule = LearningRateSchedule.Linear(warmupSteps: 2),
        };
        using var loop = new TrainingLoop(new[] { p }, totalSteps: 6, options);
        var expected = new[] { 0.0, 0.0 };
        for (int step = 0; step < 6; step++)
        {
            var m = loop.Step((_, _) => (c * p).sum());
            double lr = 0.1 * LearningRateSchedule.Linear(2).Factor(step, 6);
            Assert.Equal(lr, m.LearningRate, 15);
            Assert.Equal(lr, loop.Optimizer.ParamGroups.Single().LearningRate, 15);
            expected[0] -= lr * 1.0; expected[1] -= lr * -2.0;
            var actual = p.detach().data<double>().ToArray();
            Assert.Equal(expected[0], actual[0], 14);
            Assert.Equal(expected[1], actual[1], 14);
        }
        Assert.Equal(6, loop.CompletedSteps);
        Assert.Throws<InvalidOperationException>(() => loop.Step((_, _) => (c * p).sum()));
    }
}
