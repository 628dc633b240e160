using System.Diagnostics;
using TorchSharp;
using U2A.Core;
using U2A.Core.Alignment;
using U2A.Core.Evaluation;
using U2A.Core.Influence;
using U2A.Core.Models;
using U2A.Core.Optimization;
using U2A.Core.Selection;
using U2A.Testing;
using U2A.Core.Training;
using U2A.Core.Unlearning;
using static TorchSharp.torch;

// The main job: one real U2A pipeline, end to end, on a small safety task with a known reward.
// Usage: dotnet run --project samples/U2A.Quickstart -c Release [-- seeds]
int seeds = args.Length > 0 ? int.Parse(args[0]) : 10;
var total = Stopwatch.StartNew();
var device = cuda.is_available() ? CUDA : CPU;
// The model is tiny: intra-op threads gain nothing and slow down badly when the cores are shared.
torch.set_num_threads(1);
Console.WriteLine($"U2A.Core {LibraryInfo.Version} on TorchSharp {typeof(torch).Assembly.GetName().Version} (libtorch {torch.__version__}), device {device}, {Environment.ProcessorCount} cores, {torch.get_num_threads()} torch thread");

var probe = new SyntheticSafetyTask(0);
Console.WriteLine($"Task: {probe.ForgetPool.Count} candidate negatives per seed ({probe.IsTrueNegative.Count(t => t)} harmful answers, " +
    $"{probe.IsTrueNegative.Count(t => !t)} helpful answers mislabeled as negative), {probe.PreferencePairs.Count} preference pairs for J (DPO loss, beta 0.3), " +
    $"PA score = mean known reward (-1..1) of greedy answers to {probe.EvaluationPrompts.Count} prompts.");
Console.WriteLine("Both methods: GradAscent, AdamW lr 1e-4, up to 8 outer iterations of 5 steps, batch 8; the PA score is checked after each outer iteration and the best is kept " +
    "(on the same evaluation prompts it is reported on, for both methods alike).");

var rows = new List<(double Start, double Plain, double U2a, double Precision, double Auc, int Harmful, int Mislabeled, double PlainNll, double U2aNll, double PlainJ, double U2aJ)>();
for (int seed = 0; seed < seeds; seed++)
{
    var task = new SyntheticSafetyTask(seed);
    using var model = task.CreateStartingModel(device, seed: seed);
    using var start = new ParameterSnapshotReference(model);
    using var pool = task.ForgetBatch(device);
    using var prefs = task.PreferenceBatch(start, device);
    var scorer = new ReportedScoreScorer(new DpoObjective(prefs), task.PaScore, "DPO J / known reward");
    Console.WriteLine($"seed {seed}: starting model trained, PA {task.PaScore(model):F3}");

    BilevelResult Run(IExampleSelector selector, bool reweight, string label)
    {
        start.Restore();
        var options = new BilevelOptions
        {
            OuterIterations = 8, InnerSteps = 5, InnerBatchSize = 8, Seed = seed, Reweight = reweight, PaPatience = 3,
            InnerOptimizer = new OptimizerSettings { LearningRate = 1e-4 }, InnerSchedule = LearningRateSchedule.Constant(),
            WeightLearningRate = 0.5,
        };
        var optimizer = new BilevelOptimizer(model, new InnerObjective(new GradAscent()), scorer, selector, new IdentityEstimator(), options);
        Console.Write($"  {label} PA by iteration:");
        var progress = new ConsoleProgress(p =>
        {
            if (p.Phase == BilevelPhase.Evaluate) Console.Write($" {p.PaScore:F2}");
        });
        var result = optimizer.Run(pool, progress);
        Console.WriteLine($" -> best {result.History[result.BestIteration].PaScore:F3} (iteration {result.BestIteration}; {result.StopReason})");
        return result;
    }

    var plain = Run(new AllUniformSelector(), reweight: false, "GradAscent, whole pool    ");
    double plainNll = TrueNegativeNll(task, model, pool);
    var u2a = Run(new TopKSelector(task.ForgetPool.Count / 2), reweight: true, "U2A + GradAscent, top 50%");
    double u2aNll = TrueNegativeNll(task, model, pool);
    Console.WriteLine($"  U2A selected {u2a.SelectedIndices.Count(i => task.IsTrueNegative[i])} harmful + {u2a.SelectedIndices.Count(i => !task.IsTrueNegative[i])} mislabeled; " +
        $"final weights on harmful {u2a.SelectedIndices.Select((i, k) => task.IsTrueNegative[i] ? u2a.Weights[k] : 0).Sum():F3}, on mislabeled {u2a.SelectedIndices.Select((i, k) => task.IsTrueNegative[i] ? 0 : u2a.Weights[k]).Sum():F3}");

    var scores = u2a.InitialScores;
    var ranked = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
    double precision = ranked.Take(scores.Count / 2).Count(i => task.IsTrueNegative[i]) / (double)(scores.Count / 2);
    var pairs = ranked.SelectMany((i, r) => ranked.Skip(r + 1).Select(j => (i, j))).Where(p => task.IsTrueNegative[p.i] != task.IsTrueNegative[p.j]).ToArray();
    double auc = pairs.Average(p => task.IsTrueNegative[p.i] ? 1.0 : 0.0);
    rows.Add((plain.History[0].PaScore, plain.History[plain.BestIteration].PaScore, u2a.History[u2a.BestIteration].PaScore, precision, auc,
        u2a.SelectedIndices.Count(i => task.IsTrueNegative[i]), u2a.SelectedIndices.Count(i => !task.IsTrueNegative[i]), plainNll, u2aNll,
        plain.History[plain.BestIteration].Objective, u2a.History[u2a.BestIteration].Objective));
}

static double TrueNegativeNll(SyntheticSafetyTask task, ICausalLM model, U2A.Core.Data.ForgetBatch pool)
{
    using var scope = NewDisposeScope();
    using var noGrad = no_grad();
    var idx = Enumerable.Range(0, pool.Count).Where(i => task.IsTrueNegative[i]).Select(i => (long)i).ToArray();
    using var harmful = pool.Select(idx);
    return ResponseLogProbs.Compute(model, harmful.Tokens).MeanNll.mean().to_type(ScalarType.Float64).item<double>();
}

static string MeanSd(IEnumerable<double> xs) => SeedStatistics.Summarize(xs).ToString();

Console.WriteLine();
Console.WriteLine($"Influence scores at the start (identity estimator) separate harmful from mislabeled negatives: " +
    $"precision of the top half {MeanSd(rows.Select(r => r.Precision))} (base rate {probe.IsTrueNegative.Count(t => t) / (double)probe.ForgetPool.Count:F3}), AUC {MeanSd(rows.Select(r => r.Auc))}.");
Console.WriteLine($"U2A selected on average {rows.Average(r => r.Harmful):F1} harmful and {rows.Average(r => r.Mislabeled):F1} mislabeled negatives.");
Console.WriteLine($"PA score over {seeds} seeds (mean ± sd): start {MeanSd(rows.Select(r => r.Start))}, GradAscent on the whole pool {MeanSd(rows.Select(r => r.Plain))}, U2A + GradAscent {MeanSd(rows.Select(r => r.U2a))}.");
Console.WriteLine($"J (DPO loss on the preference set, ln 2 = 0.693 at the start) at the kept parameters: plain {MeanSd(rows.Select(r => r.PlainJ))}, U2A {MeanSd(rows.Select(r => r.U2aJ))}.");
Console.WriteLine($"U2A beat plain GradAscent on {rows.Count(r => r.U2a > r.Plain)} of {seeds} seeds, tied on {rows.Count(r => r.U2a == r.Plain)}; " +
    $"paired PA difference (U2A - plain): {SeedStatistics.PairedDifference(rows.Select(r => r.Plain).ToArray(), rows.Select(r => r.U2a).ToArray())}.");
Console.WriteLine($"Unlearning of the harmful answers (token-mean NLL at the kept parameters): plain {MeanSd(rows.Select(r => r.PlainNll))}, U2A {MeanSd(rows.Select(r => r.U2aNll))}.");
Console.WriteLine($"Total time {total.Elapsed.TotalSeconds:F1} s.");

/// <summary>Reports on the calling thread, in order (Progress&lt;T&gt; would post to the thread pool).</summary>
sealed class ConsoleProgress(Action<BilevelProgress> report) : IProgress<BilevelProgress>
{
    public void Report(BilevelProgress value) => report(value);
}
