using System.Diagnostics;
using TorchSharp;
using U2A.Core;
using U2A.Core.Alignment;
using U2A.Core.Influence;
using U2A.Core.Models;
using U2A.Core.Optimization;
using U2A.Core.Selection;
using U2A.Core.Synthetic;
using U2A.Core.Training;
using U2A.Core.Unlearning;
using static TorchSharp.torch;

var total = Stopwatch.StartNew();
var device = cuda.is_available() ? CUDA : CPU;
torch.set_num_threads(Math.Max(1, Environment.ProcessorCount));
Console.WriteLine($"U2A.Core {LibraryInfo.Version} on TorchSharp {typeof(torch).Assembly.GetName().Version} (libtorch {torch.__version__}), device {device}");

int seed = args.Length > 0 ? int.Parse(args[0]) : 0;
var task = new SyntheticSafetyTask(seed);
Console.WriteLine($"Task: {task.ForgetPool.Count} candidate negatives ({task.IsTrueNegative.Count(t => t)} harmful, {task.IsTrueNegative.Count(t => !t)} mislabeled helpful), {task.PreferencePairs.Count} preference pairs, {task.EvaluationPrompts.Count} evaluation prompts.");

var sw = Stopwatch.StartNew();
using var model = task.CreateStartingModel(device, seed: seed);
Console.WriteLine($"Trained the misaligned starting model in {sw.Elapsed.TotalSeconds:F1} s.");
using var start = new ParameterSnapshotReference(model);
using var pool = task.ForgetBatch(device);
using var prefs = task.PreferenceBatch(start, device);
var scorer = new ReportedScoreScorer(new DpoObjective(prefs), task.PaScore, "DPO J / known reward");
Console.WriteLine($"Starting PA score (mean known reward of greedy responses, -1..1): {task.PaScore(model):F3}");

BilevelOptions Options(bool reweight) => new()
{
    OuterIterations = 4, InnerSteps = 10, InnerBatchSize = 8, Seed = seed, Reweight = reweight, PaPatience = 2,
    InnerOptimizer = new OptimizerSettings { LearningRate = 2e-3 }, InnerSchedule = LearningRateSchedule.Constant(),
    WeightLearningRate = 0.5,
};

var progress = new Progress<BilevelProgress>(p =>
{
    if (p.Phase == BilevelPhase.Evaluate) Console.WriteLine($"    iteration {p.OuterIteration}: J {p.Objective:F4}, PA {p.PaScore:F3}");
});

BilevelResult Run(IExampleSelector selector, bool reweight, string label)
{
    start.Restore();
    Console.WriteLine($"  {label}:");
    var inner = new InnerObjective(new GradAscent());
    var optimizer = new BilevelOptimizer(model, inner, scorer, selector, new IdentityEstimator(), Options(reweight));
    var result = optimizer.Run(pool, progress);
    Console.WriteLine($"    best PA {result.History[result.BestIteration].PaScore:F3} at iteration {result.BestIteration} ({result.StopReason})");
    return result;
}

var plain = Run(new AllUniformSelector(), reweight: false, "GradAscent on the whole pool");
var u2a = Run(new TopKSelector(task.ForgetPool.Count / 2), reweight: true, "U2A + GradAscent (top half by influence, mirror-descent weights)");

// How well the starting influence scores separate true from mislabeled negatives.
var scores = u2a.InitialScores;
var ranked = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
double precision = ranked.Take(scores.Count / 2).Count(i => task.IsTrueNegative[i]) / (double)(scores.Count / 2);
double auc = ranked.SelectMany((i, r) => ranked.Skip(r + 1).Select(j => (i, j)))
    .Where(p => task.IsTrueNegative[p.i] != task.IsTrueNegative[p.j]).Average(p => task.IsTrueNegative[p.i] ? 1.0 : 0.0);
Console.WriteLine($"Influence scores: mean {scores.Where((_, i) => task.IsTrueNegative[i]).Average():G3} on harmful vs {scores.Where((_, i) => !task.IsTrueNegative[i]).Average():G3} on mislabeled; precision of the top half {precision:F2} (base rate {task.IsTrueNegative.Count(t => t) / (double)scores.Count:F2}), AUC {auc:F2}.");
Console.WriteLine($"Selected {u2a.SelectedIndices.Count}: {u2a.SelectedIndices.Count(i => task.IsTrueNegative[i])} harmful, {u2a.SelectedIndices.Count(i => !task.IsTrueNegative[i])} mislabeled.");
Console.WriteLine($"PA score: start {plain.History[0].PaScore:F3}, GradAscent on the whole pool {plain.History[plain.BestIteration].PaScore:F3}, U2A + GradAscent {u2a.History[u2a.BestIteration].PaScore:F3}.");
Console.WriteLine($"Total time {total.Elapsed.TotalSeconds:F1} s.");
