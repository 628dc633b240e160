using U2A.Core.Alignment;
using U2A.Core.Influence;
using U2A.Core.Models;
using U2A.Core.Optimization;
using U2A.Core.Selection;
using U2A.Core.Unlearning;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Reliability.Checkpoints;

/// <summary>
/// A checkpoint that does not fit the run it is given to is refused before anything changes, with an
/// ArgumentException naming the field and both values; a resumed run stops where the uninterrupted one stopped.
/// </summary>
public sealed class ResumeValidationTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("u2a-resume-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);


    /// <summary>A checkpoint of a 2-iteration run of the probe pipeline.</summary>
    private BilevelCheckpoint Saved(out string folder)
    {
        folder = Path.Combine(_root, "ckpt");
        using var p = new ProbePipeline();
        p.Optimizer(ProbePipeline.Options(2, 2, restoreBest: true, folder)).Run();
        return BilevelCheckpoint.Load(folder);
    }

    private static BilevelCheckpoint With(BilevelCheckpoint c, double[]? initialScores = null, int[]? selected = null, Tensor[]? parameters = null) => new()
    {
        CompletedIterations = c.CompletedIterations, InitialScores = initialScores ?? c.InitialScores, SelectedIndices = selected ?? c.SelectedIndices,
        Weights = c.Weights, History = c.History, BestIteration = c.BestIteration, IterationsWithoutImprovement = c.IterationsWithoutImprovement,
        Parameters = parameters ?? c.Parameters, BestParameters = parameters is null ? c.BestParameters : null, Fingerprint = c.Fingerprint,
    };

    [Fact]
    public void Each_mismatch_with_the_run_names_the_field_and_both_values_and_leaves_the_model_untouched()
    {
        using var checkpoint = Saved(out _);
        using var p = new ProbePipeline();
        var before = ParameterValues.Of(p.Model);
        ArgumentException Refused(BilevelCheckpoint c, int outer = 2) =>
            Assert.Throws<ArgumentException>(() => p.Optimizer(ProbePipeline.Options(outer, 2, restoreBest: true, null)).Run(resumeFrom: c));

        var e = Refused(checkpoint, outer: 1);
        Assert.Contains("has CompletedIterations = 2, more than BilevelOptions.OuterIterations = 1", e.Message);
        Assert.Equal("resumeFrom", e.ParamName);

        // The review's case: an index equal to the pool size used to read "made for a pool of 12 examples, not 12".
        var selected = checkpoint.SelectedIndices.ToArray();
        selected[^1] = p.Pool.Count;
        e = Refused(With(checkpoint, selected: selected));
        Assert.Contains($"is inconsistent: SelectedIndices[{selected.Length - 1}] = 12 is outside the pool of 12 examples", e.Message);

        e = Refused(With(checkpoint, initialScores: checkpoint.InitialScores.Append(0.0).ToArray()));
        Assert.Contains("was made for a pool of 13 examples (InitialScores.Length), but the pool passed to Run has 12", e.Message);

        e = Refused(With(checkpoint, parameters: checkpoint.Parameters[..^1]));
        Assert.Contains($"holds {checkpoint.Parameters.Length - 1} parameter tensors but the model has {checkpoint.Parameters.Length} trainable parameters", e.Message);

        using var transposed = checkpoint.Parameters[0].t();
        e = Refused(With(checkpoint, parameters: checkpoint.Parameters.Select((t, i) => i == 0 ? transposed : t).ToArray()));
        string shape = string.Join(", ", checkpoint.Parameters[0].shape), flipped = string.Join(", ", transposed.shape);
        Assert.Contains($"has parameter 0 of shape [{flipped}] but the model's trainable parameter 0 has shape [{shape}]", e.Message);

        using var wide = checkpoint.Parameters[1].to_type(ScalarType.Float64);
        e = Refused(With(checkpoint, parameters: checkpoint.Parameters.Select((t, i) => i == 1 ? wide : t).ToArray()));
        Assert.Contains("has parameter 1 of dtype Float64 but the model's trainable parameter 1 has dtype Float32", e.Message);

        var other = p.Optimizer(ProbePipeline.Options(2, 3, restoreBest: true, null));
        Assert.Contains("other settings", Assert.Throws<ArgumentException>(() => other.Run(resumeFrom: checkpoint)).Message);

        Assert.Equal(before, ParameterValues.Of(p.Model));
    }

    [Fact]
    public void A_run_that_stopped_on_PA_patience_resumed_from_its_last_checkpoint_stops_there_too()
    {
        string folder = Path.Combine(_root, "patience");
        BilevelOptions Options() => ProbePipeline.Options(4, 2, restoreBest: false, folder) with { Stopping = new StoppingOptions { PaPatience = 1, RestoreBestParameters = false } };
        BilevelOptimizer Flat(ProbePipeline p) => new(new UnlearningProblem(p.Model, p.Pool, new InnerObjective(new GradAscent()), p.Scorer), new TopKSelector(6),
            new IdentityEstimator(), AlignmentEvaluator.From("flat", (_, _) => 0.25), Options());

        using var a = new ProbePipeline();
        var full = Flat(a).Run();
        Assert.Equal(2, full.History.Count); // the start and one iteration: the PA score never improves
        Assert.StartsWith("PA score did not improve", full.StopReason);

        using var checkpoint = BilevelCheckpoint.Load(folder);
        Assert.Equal(1, checkpoint.CompletedIterations);
        using var b = new ProbePipeline();
        var start = ParameterValues.Of(b.Model);
        // The one iteration trained: equal final parameters below mean the checkpoint's were loaded, not that nothing moved.
        Assert.True(ParameterValues.MaxAbsDifference(start, ParameterValues.Of(a.Model)) > 0, "the run left the parameters at their start");
        var resumed = Flat(b).Run(resumeFrom: checkpoint);
        Assert.Equal(full.History.Select(h => h.Iteration), resumed.History.Select(h => h.Iteration));
        Assert.Equal(full.StopReason, resumed.StopReason);
        Assert.Equal(ParameterValues.Of(a.Model), ParameterValues.Of(b.Model));
    }

}
