using U2A.Core.Optimization;
using U2A.Core.Selection;
using U2A.Core.Influence;
using U2A.Core.Unlearning;
using U2A.Testing;

namespace U2A.Core.Tests.Optimization;

/// <summary>Whole optimizer runs repeated on one model leave no tensors behind (the kit's <see cref="LiveTensorGuard"/>).</summary>
public class InnerRunMemoryTests
{
    [Fact]
    public void Repeated_runs_leave_no_live_tensors_behind()
    {
        using var p = new ProbePipeline();
        var options = ProbePipeline.Options(outer: 1, inner: 3, restoreBest: true, checkpointDirectory: null);
        var counts = LiveTensorGuard.CheckNoSteadyGrowth(() => p.Optimizer(options).Run(), iterations: 6, warmUpIterations: 2,
            label: "a one-iteration BilevelOptimizer run");
        Assert.Equal(7, counts.Length); // after warm-up, then after each of the 6 runs
        Assert.Equal(counts[0], counts[^1]);
    }
}
