using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using U2A.Cli.Output;
using U2A.Cli.Pipeline;
using U2A.Cli.Scale;
using U2A.Core.Alignment;
using U2A.Core.Models.Checkpoints;
using U2A.Core.Optimization;
using U2A.Core.Training;

namespace U2A.Cli.Commands;

/// <summary><c>u2a run</c>: the whole U2A loop, writing the adapter (or full weights), report.json, scores.csv and a plot.</summary>
public static class RunCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(Func<ParseResult, Func<CommandContext, int>, int> run)
    {
        var p = new PipelineOptions();
        var common = new CommonOptions();
        var output = new Option<string>("--out") { Description = "output folder: adapter.safetensors (or model/ with --full), report.json, scores.csv, plot.png, checkpoint/", Required = true };
        var selector = new Option<string>("--selector") { Description = "topk, positive, mp (matching pursuit), all", DefaultValueFactory = _ => "topk" };
        var k = new Option<int?>("--k") { Description = "examples to select (topk, mp; default 16) or the cap of positive" };
        var outer = new Option<int>("--outer") { Description = "outer iterations", DefaultValueFactory = _ => 3 };
        var steps = new Option<int>("--inner-steps") { Description = "unlearning steps per outer iteration", DefaultValueFactory = _ => 100 };
        var batch = new Option<int>("--batch-size") { Description = "negatives per unlearning step", DefaultValueFactory = _ => 8 };
        var lr = new Option<double>("--lr") { Description = "AdamW learning rate of the inner loop (cosine schedule, clip 1)", DefaultValueFactory = _ => 1e-4 };
        var patience = new Option<int>("--patience") { Description = "stop after this many outer iterations without a better PA score (-J)", DefaultValueFactory = _ => 1 };
        var noReweight = new Option<bool>("--no-reweight") { Description = "keep the selector's weights (no mirror-descent step)" };
        var resume = new Option<bool>("--resume") { Description = "continue the interrupted run whose checkpoint is in OUT/checkpoint (same options)" };
        var command = new Command("run", "Run U2A: score, select, unlearn with LoRA (or all weights), re-weight; Ctrl+C leaves a resumable checkpoint.");
        p.AddTo(command);
        foreach (var o in new Option[] { output, selector, k, outer, steps, batch, lr, patience, noReweight, resume }) command.Options.Add(o);
        common.AddTo(command);
        command.SetAction(r => run(r, ctx =>
        {
            var settings = p.Read(r);
            string sel = r.GetValue(selector)!;
            if (!Selectors.Names.Contains(sel)) throw new UsageException("--selector", $"unknown selector '{sel}' (expected {string.Join(", ", Selectors.Names)}).");
            if (r.GetValue(k) is < 1) throw new UsageException("--k", $"must be at least 1, got {r.GetValue(k)}.");
            if (r.GetValue(outer) < 1) throw new UsageException("--outer", $"must be at least 1, got {r.GetValue(outer)}.");
            if (r.GetValue(steps) < 1) throw new UsageException("--inner-steps", $"must be at least 1, got {r.GetValue(steps)}.");
            if (r.GetValue(batch) < 1) throw new UsageException("--batch-size", $"must be at least 1, got {r.GetValue(batch)}.");
            if (!(r.GetValue(lr) > 0)) throw new UsageException("--lr", $"must be positive, got {r.GetValue(lr)}.");
            if (r.GetValue(patience) < 1) throw new UsageException("--patience", $"must be at least 1, got {r.GetValue(patience)}.");
            return Execute(ctx, settings, new RunSettings(r.GetValue(output)!, sel, r.GetValue(k), r.GetValue(outer), r.GetValue(steps), r.GetValue(batch),
                r.GetValue(lr), r.GetValue(patience), !r.GetValue(noReweight), r.GetValue(resume)));
        }));
        return command;
    }

    /// <summary>The run-only settings.</summary>
    public sealed record RunSettings(string Out, string Selector, int? K, int Outer, int InnerSteps, int BatchSize, double LearningRate,
        int Patience, bool Reweight, bool Resume);

    private static int Execute(CommandContext ctx, PipelineSettings settings, RunSettings run)
    {
        var clock = Stopwatch.StartNew();
        if (File.Exists(run.Out)) throw new UsageException("--out", $"'{run.Out}' is a file; --out names the folder the run writes to.");
        string checkpointDir = Path.Combine(run.Out, "checkpoint");
        bool hasCheckpoint = Directory.Exists(checkpointDir) && Directory.EnumerateFileSystemEntries(checkpointDir).Any();
        if (run.Resume && !hasCheckpoint)
            throw new UsageException("--resume", $"there is no checkpoint in '{checkpointDir}' to resume (a run writes one after each completed outer iteration).");
        if (!run.Resume && hasCheckpoint)
            throw new UsageException("--out", $"'{run.Out}' holds the checkpoint of an earlier run: add --resume to continue it, or choose another --out.");
        Directory.CreateDirectory(run.Out);

        var (records, skipped) = DataFiles.ReadPool(settings.PoolFile!, settings.Format);
        var (pairs, skippedPairs) = DataFiles.ReadPairs(settings.PrefsFile!, settings.EffectivePrefsFormat);
        ctx.Reporter.Info($"pool: {records.Count} negatives ({skipped} skipped); prefs: {pairs.Count} pairs ({skippedPairs} skipped)");
        using var session = Session.Open(settings, ctx.Device);
        var fingerprint = Fingerprint.Compute(session, settings.PoolFile!, settings.PrefsFile!);
        using var pool = session.Pool(records, session.NeedsReference);
        using var prefs = session.Prefs(pairs);
        var j = new DpoObjective(prefs, new DpoObjectiveOptions(settings.DpoBeta));
        var problem = new UnlearningProblem(session.Model, pool, session.Inner(pairs), j);
        var options = new BilevelOptions
        {
            OuterIterations = run.Outer,
            Inner = new InnerUnlearningOptions
            {
                Steps = run.InnerSteps, BatchSize = run.BatchSize,
                Loop = InnerUnlearningOptions.DefaultLoop with { Optimizer = new OptimizerSettings { LearningRate = run.LearningRate } },
            },
            Scoring = settings.ScoringOptions(),
            Weighting = new WeightingOptions { Reweight = run.Reweight },
            Stopping = new StoppingOptions { PaPatience = run.Patience },
            Seed = settings.Seed,
            CheckpointDirectory = checkpointDir,
        };
        var optimizer = new BilevelOptimizer(problem, Selectors.Create(run.Selector, run.K, records.Count), settings.CreateEstimator(), j, options);
        BilevelResult result;
        using (var resumeFrom = run.Resume ? BilevelCheckpoint.Load(checkpointDir, ctx.Device) : null)
        {
            if (resumeFrom is not null) ctx.Reporter.Info($"resuming after outer iteration {resumeFrom.CompletedIterations} of {run.Outer}");
            try
            {
                result = ctx.Reporter.Progress(task =>
                {
                    var bar = task("U2A", run.Outer * run.InnerSteps);
                    return optimizer.Run(new SyncProgress(p =>
                    {
                        int done = Math.Max(0, p.OuterIteration - 1) * run.InnerSteps + (p.Phase == U2A.Core.Optimization.BilevelPhase.Unlearn ? p.Step : p.OuterIteration == 0 ? 0 : run.InnerSteps);
                        string what = p.Phase switch
                        {
                            U2A.Core.Optimization.BilevelPhase.Unlearn => $"iteration {p.OuterIteration}/{run.Outer}: unlearning step {p.Step}/{p.TotalSteps}",
                            var phase => $"iteration {p.OuterIteration}/{run.Outer}: {phase.ToString().ToLowerInvariant()}" + (p.Objective is { } jv ? $", J {jv:F4}" : ""),
                        };
                        bar.Report(done, what);
                    }), resumeFrom, ctx.Cancellation);
                });
            }
            catch (OperationCanceledException)
            {
                bool saved = BilevelCheckpoint.TryLoad(checkpointDir, out var last, ctx.Device);
                using (last)
                {
                    ctx.Error.WriteLine(saved
                        ? $"cancelled; the checkpoint in {checkpointDir} holds {last!.CompletedIterations} completed outer iteration(s). Continue with the same command and --resume."
                        : "cancelled before the first outer iteration completed: there is no checkpoint; run the command again.");
                }
                throw;
            }
        }

        string adapterPath = Path.Combine(run.Out, "adapter.safetensors");
        string modelPath = Path.Combine(run.Out, "model");
        if (session.Lora is { } lora) lora.SaveAdapters(adapterPath);
        else CausalLMLoader.SavePretrained(session.Base, modelPath);
        var scores = result.InitialScores.Select((s, i) => new ScoreRow(i, s, ScoreCommand.SourceOf(records[i]))).ToArray();
        new ScoreFile(fingerprint.Combined, records.Count, settings.ChunkSize, null, 0, records.Count, scores).Write(Path.Combine(run.Out, "scores.csv"));
        RunPlot.Save(result.History, Path.Combine(run.Out, "plot.png"));
        var report = Report(settings, run, session, fingerprint, result, records, clock.Elapsed.TotalSeconds, session.Lora is null ? modelPath : adapterPath);
        File.WriteAllText(Path.Combine(run.Out, "report.json"), report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

        var best = result.History[result.BestIteration];
        ctx.Reporter.Grid("U2A history", ["iteration", "J", "PA (-J)", "inner steps", "forget NLL"],
            result.History.Select(h => (IReadOnlyList<string>)[h.Iteration.ToString(), h.Objective.ToString("F4"), h.PaScore.ToString("F4"), h.InnerSteps.ToString(),
                double.IsFinite(h.ForgetNll) ? h.ForgetNll.ToString("F3") : "-"]));
        ctx.Reporter.Table("u2a run", new (string, string)[]
        {
            ("selected", $"{result.SelectedIndices.Count} of {records.Count} ({run.Selector})"),
            ("J", $"{result.History[0].Objective:F4} -> {best.Objective:F4} (best iteration {result.BestIteration})"),
            ("stop", result.StopReason), (session.Lora is null ? "model" : "adapter", session.Lora is null ? modelPath : adapterPath),
            ("report", Path.Combine(run.Out, "report.json")), ("time", $"{clock.Elapsed.TotalSeconds:F1} s"),
        });
        return 0;
    }

    private static JsonObject Report(PipelineSettings settings, RunSettings run, Session session, Fingerprint fingerprint, BilevelResult result,
        IReadOnlyList<U2A.Core.Data.NegativeExample> records, double seconds, string weightsPath)
    {
        static JsonNode? Num(double x) => double.IsFinite(x) ? JsonValue.Create(x) : null;
        var history = new JsonArray(result.History.Select(h => (JsonNode)new JsonObject
        {
            ["iteration"] = h.Iteration, ["j"] = Num(h.Objective), ["pa"] = Num(h.PaScore), ["inner_steps"] = h.InnerSteps,
            ["forget_loss"] = Num(h.ForgetLoss), ["forget_nll"] = Num(h.ForgetNll),
        }).ToArray());
        var selection = new JsonArray(result.SelectedIndices.Select((i, k) => (JsonNode)new JsonObject
        {
            ["index"] = i, ["weight"] = result.Weights[k], ["score"] = result.InitialScores[i], ["source"] = ScoreCommand.SourceOf(records[i]),
        }).ToArray());
        return new JsonObject
        {
            ["tool"] = "u2a run",
            ["settings"] = new JsonObject
            {
                ["model"] = settings.ModelDir, ["pool"] = settings.PoolFile, ["prefs"] = settings.PrefsFile,
                ["options"] = settings.CanonicalOptions(session.Base.Config.ModelType),
                ["selector"] = run.Selector, ["k"] = run.K, ["outer"] = run.Outer, ["inner_steps"] = run.InnerSteps, ["batch_size"] = run.BatchSize,
                ["lr"] = run.LearningRate, ["patience"] = run.Patience, ["reweight"] = run.Reweight, ["resumed"] = run.Resume,
            },
            ["fingerprint"] = fingerprint.Combined,
            ["pool_count"] = records.Count,
            ["history"] = history,
            ["best_iteration"] = result.BestIteration,
            ["stop_reason"] = result.StopReason,
            ["selection"] = selection,
            ["phase_seconds"] = new JsonObject(result.PhaseTimes.Select(kv => KeyValuePair.Create(kv.Key.ToString(), (JsonNode?)JsonValue.Create(kv.Value.TotalSeconds)))),
            ["weights"] = weightsPath,
            ["wall_seconds"] = seconds,
        };
    }

    private sealed class SyncProgress(Action<BilevelProgress> report) : IProgress<BilevelProgress>
    {
        public void Report(BilevelProgress value) => report(value);
    }
}
