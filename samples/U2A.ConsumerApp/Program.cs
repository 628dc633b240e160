// A consumer of the U2A.Core and U2A.Testing packages: a small U2A pipeline on the test kit's tiny model and task.
// Every U2A API call of the sample is in this file. Exit code 0 when the pipeline ran and its result is sound, 1 otherwise.
using TorchSharp;
using U2A.Core;
using U2A.Core.Alignment;
using U2A.Core.Influence;
using U2A.Core.Models;
using U2A.Core.Optimization;
using U2A.Core.Selection;
using U2A.Core.Unlearning;
using U2A.Testing;

try
{
    torch.set_num_threads(1); // one torch thread: the same numbers on every run
    Console.WriteLine($"U2A.Core {LibraryInfo.Version}, TorchSharp {typeof(torch).Assembly.GetName().Version}, libtorch {torch.__version__}");

    // A tiny seeded model fine-tuned to be misaligned, and a small forget pool (12 true negatives, 6 mislabeled ones).
    var task = new SyntheticSafetyTask(seed: 0, trueNegatives: 12, mislabeledNegatives: 6, preferencePairs: 12);
    using var model = task.CreateStartingModel(steps: 60);
    using var reference = new ParameterSnapshotReference(model);  // pi_ref: the starting weights, frozen
    using var pool = task.ForgetBatch(reference: reference);
    using var prefs = task.PreferenceBatch(reference);

    const int k = 6;
    using var regularizer = new ParameterRegularizer(model);
    var j = new DpoObjective(prefs);                                       // J: DPO loss on the preference pairs
    var problem = new UnlearningProblem(model, pool, new InnerObjective(new Npo(), new[] { regularizer }), j);
    var pa = AlignmentEvaluator.From("known reward", task.PaScore);        // PA: mean known reward of greedy answers
    var optimizer = new BilevelOptimizer(problem, new TopKSelector(k), new IdentityEstimator(), pa,
        new BilevelOptions { OuterIterations = 2, Inner = new InnerUnlearningOptions { Steps = 5 } });

    var result = optimizer.Run();
    int poolSize = task.ForgetPool.Count;
    var first = result.History[0];
    var last = result.History[^1];
    foreach (var h in result.History)
        Console.WriteLine($"iteration {h.Iteration}: J {h.Objective:F4}, PA {h.PaScore:F3}");
    Console.WriteLine($"J before {first.Objective:F4}, after {last.Objective:F4} (change {last.Objective - first.Objective:+0.0000;-0.0000}); " +
                      $"best iteration {result.BestIteration}; stop: {result.StopReason}");
    Console.WriteLine($"selected {result.SelectedIndices.Count} of {poolSize}: " + string.Join(", ",
        result.SelectedIndices.Select((i, n) => $"#{i} {(task.IsTrueNegative[i] ? "true" : "mislabeled")} w={result.Weights[n]:F3}")));
    int correct = result.SelectedIndices.Count(i => task.IsTrueNegative[i]);
    Console.WriteLine($"selection precision {correct}/{result.SelectedIndices.Count} (pool base rate {task.IsTrueNegative.Count(t => t)}/{poolSize})");

    var problems = new List<string>();
    if (result.History.Count < 2) problems.Add($"no outer iteration completed (history has {result.History.Count} entries)");
    if (result.History.Any(h => !double.IsFinite(h.Objective) || !double.IsFinite(h.PaScore))) problems.Add("a J or PA value is not finite");
    if (result.SelectedIndices.Count != k) problems.Add($"selected {result.SelectedIndices.Count} examples, expected {k}");
    if (result.SelectedIndices.Distinct().Count() != result.SelectedIndices.Count) problems.Add("an example is selected twice");
    if (result.SelectedIndices.Any(i => i < 0 || i >= poolSize)) problems.Add($"a selected index lies outside the pool of {poolSize}");
    if (result.Weights.Count != result.SelectedIndices.Count || result.Weights.Any(w => !double.IsFinite(w) || w < 0))
        problems.Add("the weights are not one finite non-negative value per selected example");
    if (result.InitialScores.Count != poolSize || result.InitialScores.Any(s => !double.IsFinite(s)))
        problems.Add("the influence scores are not one finite value per pool example");
    foreach (var p in problems) Console.Error.WriteLine($"FAILED: {p}");
    Console.WriteLine(problems.Count == 0 ? "pipeline: OK" : "pipeline: FAILED");
    return problems.Count == 0 ? 0 : 1;
}
catch (Exception e)
{
    Console.Error.WriteLine($"FAILED: {e}");
    return 1;
}
