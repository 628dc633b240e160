using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using U2A.Core.Alignment;
using U2A.Core.Data;
using U2A.Core.Influence;
using U2A.Core.Models;
using U2A.Core.Optimization;
using U2A.Core.Selection;
using U2A.Core.Training;
using U2A.Core.Unlearning;
using U2A.Testing;

namespace U2A.Core.Tests.Shared;

/// <summary>
/// A small, seeded U2A pipeline (tiny transformer, synthetic safety task, top-6 of 12 negatives, GradAscent, identity
/// estimator) shared by the kill probe (a child process) and the in-process reliability tests, which link this file.
/// </summary>
public sealed class ProbePipeline : IDisposable
{
    private readonly ParameterSnapshotReference _start;
    private readonly PreferenceBatch _prefs;

    /// <summary>Builds the task, model, pool and preference set; every part is seeded.</summary>
    public ProbePipeline(int taskSeed = 2, int modelSeed = 3)
    {
        var task = new SyntheticSafetyTask(seed: taskSeed, trueNegatives: 8, mislabeledNegatives: 4, preferencePairs: 6);
        Model = new TinyTransformerLM(task.Tokenizer.VocabSize, width: 16, layers: 1, heads: 2, maxLength: 16, seed: modelSeed);
        _start = new ParameterSnapshotReference(Model);
        Pool = task.ForgetBatch();
        _prefs = task.PreferenceBatch(_start);
        Scorer = new DpoObjective(_prefs);
    }

    /// <summary>The model, updated in place by a run.</summary>
    public TinyTransformerLM Model { get; }

    /// <summary>The forget pool (12 candidates).</summary>
    public ForgetBatch Pool { get; }

    /// <summary>J and (as -J) the PA score.</summary>
    public DpoObjective Scorer { get; }

    /// <summary>The options of a probe run.</summary>
    public static BilevelOptions Options(int outer, int inner, bool restoreBest, string? checkpointDirectory, long seed = 5) => new()
    {
        OuterIterations = outer, Seed = seed, CheckpointDirectory = checkpointDirectory,
        Inner = new InnerUnlearningOptions
        {
            Steps = inner, BatchSize = 4, Loop = InnerUnlearningOptions.DefaultLoop with { Optimizer = new OptimizerSettings { LearningRate = 1e-3 } },
        },
        Weighting = new WeightingOptions { LearningRate = 0.5 },
        Stopping = new StoppingOptions { PaPatience = 100, RestoreBestParameters = restoreBest },
    };

    /// <summary>The optimizer over this pipeline's parts.</summary>
    public BilevelOptimizer Optimizer(BilevelOptions options) =>
        new(new UnlearningProblem(Model, Pool, new InnerObjective(new GradAscent()), Scorer), new TopKSelector(6), new IdentityEstimator(), Scorer, options);

    /// <summary>
    /// Everything a run produced, bit for bit: scores, selection, weights, every history field (doubles as their
    /// IEEE bits), the best iteration, the stop reason and a SHA-256 of each trainable parameter's bytes.
    /// </summary>
    public string Describe(BilevelResult result)
    {
        static string B(double x) => BitConverter.DoubleToInt64Bits(x).ToString("X16", CultureInfo.InvariantCulture);
        var text = new StringBuilder();
        text.AppendLine("scores " + string.Join(" ", result.InitialScores.Select(B)));
        text.AppendLine("selected " + string.Join(" ", result.SelectedIndices));
        text.AppendLine("weights " + string.Join(" ", result.Weights.Select(B)));
        foreach (var h in result.History)
            text.AppendLine($"history {h.Iteration} {B(h.Objective)} {B(h.PaScore)} {h.InnerSteps} {B(h.ForgetLoss)} {B(h.ForgetNll)} {string.Join(" ", h.Weights.Select(B))}");
        text.AppendLine($"best {result.BestIteration}; {result.StopReason}");
        foreach (var (p, i) in Model.TrainableParameters.Select((p, i) => (p, i)))
            text.AppendLine($"parameter {i} [{string.Join(",", p.shape)}] {Convert.ToHexString(SHA256.HashData(p.detach().cpu().bytes))}");
        return text.ToString();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _prefs.Dispose();
        Pool.Dispose();
        _start.Dispose();
        Model.Dispose();
    }
}
