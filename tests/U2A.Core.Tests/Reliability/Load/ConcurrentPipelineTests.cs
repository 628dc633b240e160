namespace U2A.Core.Tests.Reliability.Load;

/// <summary>
/// Two pipelines with their own models, pools and checkpoint folders, run on two threads at once, give bit for bit the
/// results they give one after the other: no state is shared between runs (dispose scopes are per thread; the run
/// draws no randomness from torch's process-wide generator).
/// </summary>
public sealed class ConcurrentPipelineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("u2a-threads-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Run(int which, string label)
    {
        // Different task, model and data-order seeds, so the two runs differ from each other.
        using var p = new ProbePipeline(taskSeed: 2 + which, modelSeed: 3 + which);
        var options = ProbePipeline.Options(outer: 3, inner: 4, restoreBest: which == 0, Path.Combine(_dir, $"{label}-{which}"), seed: 5 + which);
        var start = ParameterValues.Of(p.Model);
        var result = p.Optimizer(options).Run();
        // The run trained: equal descriptions below compare trained parameters, not two untouched models.
        Assert.True(ParameterValues.MaxAbsDifference(start, ParameterValues.Of(p.Model)) > 0, $"run {which} left the parameters at their start");
        return p.Describe(result);
    }

    [Fact]
    public void Two_pipelines_on_two_threads_match_their_sequential_runs_bitwise()
    {
        var sequential = new[] { Run(0, "sequential"), Run(1, "sequential") };
        Assert.NotEqual(sequential[0], sequential[1]);

        var concurrent = new string?[2];
        var errors = new Exception?[2];
        using var barrier = new Barrier(2);
        var threads = Enumerable.Range(0, 2).Select(i => new Thread(() =>
        {
            try
            {
                barrier.SignalAndWait();
                concurrent[i] = Run(i, "concurrent");
            }
            catch (Exception e)
            {
                errors[i] = e; // an exception escaping a thread would end the test host
            }
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        Assert.All(errors, e => Assert.Null(e));

        Assert.Equal(sequential[0], concurrent[0]);
        Assert.Equal(sequential[1], concurrent[1]);
    }
}
