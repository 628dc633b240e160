using System.Diagnostics;
using Microsoft.Extensions.Logging;
using U2A.Core.Alignment;
using U2A.Core.Influence;
using U2A.Core.Models;
using U2A.Core.Optimization;
using U2A.Core.Selection;
using U2A.Core.Training;
using U2A.Core.Unlearning;
using U2A.Testing;
using U2A.Testing.Benchmark;
using static TorchSharp.torch;

/// <summary>What the overhead benchmark measured (for summary.json): the share of scoring and selection in a U2A run.</summary>
internal sealed record OverheadResult(int DefaultPool, double DefaultShare, int LargePool, double LargeShare);

/// <summary>
/// The U2A overhead (issue 12, goal P4: scoring and selection at most 30% of a U2A run): one U2A+GA run of the evidence
/// benchmark (<see cref="SafetyBenchmark"/>, default <see cref="SafetyBenchmarkSettings"/> and task options, seed 0), once with
/// the default pool and once with a larger one (N = 1024 by default), each read from <see cref="BilevelResult.PhaseTimes"/>.
/// </summary>
/// <remarks>
/// The benchmark builds its U2A arm in private code, so it is mirrored here: the task, starting model, evaluator and batches
/// from <c>SafetyBenchmark.RunSeedCore</c> (src/U2A.Testing/Benchmark/SafetyBenchmark.cs, lines 103-120), the problem, selector,
/// estimator and <see cref="BilevelOptions"/> from <c>SafetyBenchmark.RunUnlearning</c> (same file, lines 235-283, the
/// <c>u2a</c> branch with the GA unlearner), and one torch thread as the Quickstart sets (samples/U2A.Quickstart/QuickstartApp.cs,
/// line 55). Left out: the benchmark's <c>TimedSelector</c> wrapper (it only notes a time stamp) and its progress callback.
/// </remarks>
internal static class OverheadBench
{
    public static OverheadResult Run(BenchOptions o)
    {
        var settings = o.Quick ? SafetyBenchmarkSettings.Quick : new SafetyBenchmarkSettings();
        settings.Validate();
        int seed = settings.Seeds[0];
        // The middle of the learning-rate grid: 3e-4 by default, the rate the benchmark chose for U2A+GA (docs/benchmark.md).
        double lr = settings.LearningRates[settings.LearningRates.Length / 2];
        int threadsBefore = get_num_threads();
        set_num_threads(1);
        try
        {
            Console.WriteLine();
            Console.WriteLine($"== U2A overhead (P4): one U2A+GA run of the evidence benchmark ({(o.Quick ? "Quick" : "default")} settings), seed {seed}, lr {lr:G3}, 1 torch thread ==");
            Console.WriteLine($"Settings: up to {settings.Rounds} outer iterations of {settings.StepsPerRound} inner GA steps (batch {settings.BatchSize}), patience {settings.Patience}, " +
                $"reweighting (mirror descent, eta 0.5), PositiveScoreSelector, IdentityEstimator, BatchedExact scoring (2 GiB memory budget, chunk at most 32), " +
                $"J: DPO on {new SafetyBenchmarkOptions().PreferencePairs} pairs, PA: exact expected reward on {(settings.EvaluationPrompts?.ToString() ?? "all")} validation prompts");

            var sw = Stopwatch.StartNew();
            var defaultTask = new SafetyBenchmarkTask(new SafetyBenchmarkOptions { Seed = seed, MislabeledShare = settings.MislabeledShare, PoolSize = settings.PoolSize });
            using var model = defaultTask.CreateStartingModel(pretrainSteps: settings.PretrainSteps, finetuneSteps: settings.FinetuneSteps);
            using var start = new ParameterSnapshotReference(model);
            Console.WriteLine($"Starting model ({settings.PretrainSteps} + {settings.FinetuneSteps} steps, {model.TrainableParameters.Sum(p => p.numel()):N0} parameters): {sw.Elapsed.TotalSeconds:F1} s (not part of a U2A run)");

            // Warm-up (untimed): a one-iteration run on the default pool, so that neither timed run pays the first calls of
            // each code path; in the benchmark, U2A+GA runs after DPO and the whole-pool arms, on warm code.
            sw.Restart();
            RunOnce(defaultTask, model, start, settings with { Rounds = 1 }, lr, seed, passes: false);
            start.Restore();
            Console.WriteLine($"Warm-up: one U2A+GA run of 1 outer iteration on the default pool, {sw.Elapsed.TotalSeconds:F1} s (not counted)");

            var runs = new List<RunTimes> { RunOnce(defaultTask, model, start, settings, lr, seed, passes: true) };
            // The larger pool: the task's own generator with PoolSize = N (it draws prompts with replacement, so any N works);
            // everything else at the defaults. The starting model depends only on the seed and the train prompts, which the
            // pool size does not change (they are drawn before the pool), so the trained model is reused from its snapshot.
            var largeTask = new SafetyBenchmarkTask(new SafetyBenchmarkOptions { Seed = seed, MislabeledShare = settings.MislabeledShare, PoolSize = o.OverheadN });
            if (!largeTask.TrainPrompts.SequenceEqual(defaultTask.TrainPrompts) || largeTask.Tokenizer.VocabSize != defaultTask.Tokenizer.VocabSize)
                throw new InvalidOperationException("the larger pool's task has other train prompts or vocabulary; its starting model would differ.");
            start.Restore();
            runs.Add(RunOnce(largeTask, model, start, settings with { PoolSize = o.OverheadN }, lr, seed, passes: true));
            start.Restore();

            Print(runs);
            return new OverheadResult(runs[0].Pool, runs[0].Share, runs[1].Pool, runs[1].Share);
        }
        finally
        {
            set_num_threads(threadsBefore);
        }
    }

    /// <summary>What one run measured.</summary>
    private sealed record RunTimes(int Pool, int TrueNegatives, double Preparation, double RunSeconds, IReadOnlyDictionary<BilevelPhase, double> Phases,
        BilevelResult Result, double InitialScore, int? Chunk, PassTimes Passes)
    {
        public double Share => (Phases[BilevelPhase.Score] + Phases[BilevelPhase.Select]) / RunSeconds;
    }

    /// <summary>One scoring pass over the whole pool at the starting parameters: the estimate of v = grad J, then the scores,
    /// exact (the run's scorer, chunk 8, chunk 128) and by finite differences (the run's memory budget).</summary>
    private sealed record PassTimes(double Estimate, double Exact, double Exact8, double Exact128, double Fd);

    private static RunTimes RunOnce(SafetyBenchmarkTask task, ICausalLM model, ParameterSnapshotReference start, SafetyBenchmarkSettings s, double lr, int seed,
        bool passes)
    {
        s.Validate();
        using var scope = NewDisposeScope();
        var validationPrompts = Spread(task.ValidationPrompts, s.EvaluationPrompts);
        using var validation = ExpectedRewardEvaluator.For(task, validationPrompts);
        // Built for the run, outside BilevelOptimizer.Run (reference log-probs: a forward pass over the pool and the pairs).
        var prep = Stopwatch.StartNew();
        using var pool = task.ForgetBatch(reference: start);
        using var prefs = task.PreferenceBatch(start);
        double preparation = prep.Elapsed.TotalSeconds;

        using var innerObjective = new InnerObjective(new GradAscent());
        var evaluator = AlignmentEvaluator.From("validation expected reward", (m, _) => validation.Evaluate(m).ExpectedReward);
        var options = new BilevelOptions
        {
            OuterIterations = s.Rounds, Seed = seed,
            Inner = new InnerUnlearningOptions
            {
                Steps = s.StepsPerRound, BatchSize = s.BatchSize,
                Loop = new TrainingLoopOptions { Optimizer = new OptimizerSettings { LearningRate = lr }, Schedule = LearningRateSchedule.Constant(), MaxGradNorm = 1.0 },
            },
            Weighting = new WeightingOptions { Reweight = true, LearningRate = 0.5 },
            Scoring = new InfluenceScoringOptions { Method = ScoringMethod.BatchedExact },
            Stopping = new StoppingOptions { PaPatience = s.Patience, RestoreBestParameters = true },
        };
        var problem = new UnlearningProblem(model, pool, innerObjective, new DpoObjective(prefs));
        var clock = Stopwatch.StartNew();
        var log = new TimedLog(clock);
        var optimizer = new BilevelOptimizer(problem, new PositiveScoreSelector(), new IdentityEstimator(), evaluator, options, log);
        // The start of the first scoring (a progress report) and the end of the selection (the optimizer's "U2A start" log line)
        // bound the initial scoring of the whole pool; the rest of the Score phase is the re-scoring of the selection.
        double initialScoreStart = double.NaN;
        var run = Stopwatch.StartNew();
        clock.Restart();
        var result = optimizer.Run(new SyncProgress(p =>
        {
            if (p.Phase == BilevelPhase.Score && p.OuterIteration == 0) initialScoreStart = clock.Elapsed.TotalSeconds;
        }));
        double runSeconds = run.Elapsed.TotalSeconds;
        var phases = Enum.GetValues<BilevelPhase>().ToDictionary(p => p, p => result.PhaseTimes.GetValueOrDefault(p).TotalSeconds);
        double selectedAt = log.FirstTime("U2A start") ?? double.NaN;
        double initialScore = selectedAt - initialScoreStart - phases[BilevelPhase.Select];
        int? chunk = log.ChunkSize();

        // For reading the Score phase: one pass over the whole pool at the starting parameters, exact (as the run) and by
        // finite differences (the cheaper method the benchmark gives the non-U2A arms), with the direction v = grad J.
        start.Restore();
        model.SetTraining(false);
        if (!passes) return new RunTimes(pool.Count, 0, preparation, runSeconds, phases, result, initialScore, chunk, new PassTimes(double.NaN, double.NaN, double.NaN, double.NaN, double.NaN));
        var view = problem.AtWeights(Enumerable.Range(0, pool.Count).ToArray(), Enumerable.Repeat(1.0 / pool.Count, pool.Count).ToArray(),
            options.Scoring.HessianBatchSize, seed * 31);
        var t = Stopwatch.StartNew();
        using var v = new IdentityEstimator().Estimate(view);
        double estimate = t.Elapsed.TotalSeconds;
        double Pass(InfluenceScorer scorer)
        {
            using var passScope = NewDisposeScope();
            var sw = Stopwatch.StartNew();
            scorer.Score(view, v);
            return sw.Elapsed.TotalSeconds;
        }
        long budget = options.Scoring.MemoryBudgetBytes!.Value;
        var timesOf = new PassTimes(estimate, Pass(InfluenceScorer.WithMemoryBudget(ScoringMethod.BatchedExact, budget, options.Scoring.ChunkSize)),
            Pass(new InfluenceScorer(ScoringMethod.BatchedExact, chunkSize: 8)), Pass(new InfluenceScorer(ScoringMethod.BatchedExact, chunkSize: 128)),
            Pass(InfluenceScorer.WithMemoryBudget(ScoringMethod.FiniteDifference, budget, options.Scoring.ChunkSize)));
        return new RunTimes(pool.Count, task.IsTrueNegative.Count(x => x), preparation, runSeconds, phases, result, initialScore, chunk, timesOf);
    }

    private static void Print(IReadOnlyList<RunTimes> runs)
    {
        Console.WriteLine($"{"phase (PhaseTimes)",-22}" + string.Concat(runs.Select(r => $" {"N=" + r.Pool + " s",11} {"share",6}")));
        foreach (var phase in Enum.GetValues<BilevelPhase>())
            Console.WriteLine($"{phase,-22}" + string.Concat(runs.Select(r => $" {r.Phases[phase],11:F2} {r.Phases[phase] / r.RunSeconds,6:P1}")));
        Console.WriteLine($"{"outside the phases",-22}" + string.Concat(runs.Select(r =>
        {
            double other = r.RunSeconds - r.Phases.Values.Sum();
            return $" {other,11:F2} {other / r.RunSeconds,6:P1}";
        })));
        Console.WriteLine($"{"Run (wall)",-22}" + string.Concat(runs.Select(r => $" {r.RunSeconds,11:F2} {1,6:P0}")));
        Console.WriteLine($"{"data prep (outside)",-22}" + string.Concat(runs.Select(r => $" {r.Preparation,11:F2} {"",6}")));
        Console.WriteLine();
        foreach (var r in runs)
        {
            var h = r.Result.History;
            double score = r.Phases[BilevelPhase.Score], select = r.Phases[BilevelPhase.Select], eval = r.Phases[BilevelPhase.Evaluate];
            int iterations = h.Count - 1;
            Console.WriteLine($"N = {r.Pool} ({r.TrueNegatives} true negatives): {iterations} outer iterations ({h.Sum(x => x.InnerSteps)} inner steps), best iteration {r.Result.BestIteration} " +
                $"(validation PA {h[0].PaScore:F3} -> {h[r.Result.BestIteration].PaScore:F3}); selected {r.Result.SelectedIndices.Count} of {r.Pool}; {r.Result.StopReason}");
            Console.WriteLine($"  Score + Select = {score + select:F2} s: share of the Run call {r.Share:P1} (summary.json); " +
                $"of the Run less Evaluate (the benchmark's cost clock) {(score + select) / (r.RunSeconds - eval):P1}; " +
                $"of the Run plus the data preparation {(score + select) / (r.RunSeconds + r.Preparation):P1}");
            double rescoring = score - r.InitialScore;
            Console.WriteLine($"  Score: initial scoring of all {r.Pool} {r.InitialScore:F2} s (chunk {r.Chunk?.ToString() ?? "?"}), re-scoring of the {r.Result.SelectedIndices.Count} selected " +
                $"after each of {iterations} iterations {rescoring:F2} s ({(iterations > 0 ? rescoring / iterations : double.NaN):F2} s each); Select {select:F3} s; Reweight {r.Phases[BilevelPhase.Reweight]:F4} s");
            var p = r.Passes;
            Console.WriteLine($"  one pass over all {r.Pool} at the start: v = grad J {p.Estimate:F3} s; scores exact (run's scorer) {p.Exact:F2} s, exact chunk 8 {p.Exact8:F2} s, " +
                $"exact chunk 128 {p.Exact128:F2} s, finite differences {p.Fd:F2} s ({p.Exact / p.Fd:F1}x faster than exact)");
            Console.WriteLine($"  unlearn {r.Phases[BilevelPhase.Unlearn] / Math.Max(1, h.Sum(x => x.InnerSteps)):F3} s per inner step; evaluate {eval / h.Count:F2} s per evaluation");
        }
        Console.WriteLine("share = (Score + Select) / wall time of BilevelOptimizer.Run; the evidence benchmark runs no unlearning outside Run (after it only snapshots and test metrics).");
    }

    /// <summary>At most <paramref name="count"/> prompts, evenly spread (SafetyBenchmark.Spread, which is private).</summary>
    private static IReadOnlyList<string> Spread(IReadOnlyList<string> prompts, int? count) =>
        count is not { } n || n >= prompts.Count ? prompts
            : Enumerable.Range(0, n).Select(i => prompts[(int)((long)i * prompts.Count / n)]).ToArray();

    /// <summary>Reports on the calling thread.</summary>
    private sealed class SyncProgress(Action<BilevelProgress> report) : IProgress<BilevelProgress>
    {
        public void Report(BilevelProgress value) => report(value);
    }

    /// <summary>Keeps the optimizer's log lines (and the scorer's chunk-size line) with the time they were written.</summary>
    private sealed class TimedLog(Stopwatch clock) : ILogger<BilevelOptimizer>
    {
        private readonly List<(double Seconds, string Message)> _lines = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _lines.Add((clock.Elapsed.TotalSeconds, formatter(state, exception)));

        public double? FirstTime(string prefix) => _lines.Where(l => l.Message.StartsWith(prefix, StringComparison.Ordinal)).Select(l => (double?)l.Seconds).FirstOrDefault();

        /// <summary>The chunk size the memory-budget scorer logged, if it did.</summary>
        public int? ChunkSize()
        {
            foreach (var (_, message) in _lines)
            {
                var m = System.Text.RegularExpressions.Regex.Match(message, @"chunk size (\d+)");
                if (m.Success) return int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            }
            return null;
        }
    }
}
