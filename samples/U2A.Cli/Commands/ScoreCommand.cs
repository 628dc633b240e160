using System.CommandLine;
using System.Diagnostics;
using U2A.Cli.Pipeline;
using U2A.Cli.Scale;
using U2A.Core.Alignment;
using U2A.Core.Data;
using U2A.Core.Influence;
using U2A.Core.Optimization;
using U2A.Core.Unlearning;

namespace U2A.Cli.Commands;

/// <summary><c>u2a score</c>: influence scores of the pool (all of it, or one shard against a prepared direction).</summary>
public static class ScoreCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(Func<ParseResult, Func<CommandContext, int>, int> run)
    {
        var p = new PipelineOptions();
        var common = new CommonOptions();
        var output = new Option<string>("--out") { Description = "output folder: scores.csv, or scores.shard-I-of-N.csv with --shard", Required = true };
        var direction = new Option<string?>("--direction") { Description = "a direction written by u2a prepare: score against it instead of computing v here" };
        var shard = new Option<string?>("--shard") { Description = "score only shard INDEX/COUNT (0-based) of the pool: contiguous whole chunks" };
        var command = new Command("score", "Influence score s_i = -dJ/dw_i of every pool example at the starting parameters.");
        p.AddTo(command);
        command.Options.Add(output);
        command.Options.Add(direction);
        command.Options.Add(shard);
        common.AddTo(command);
        command.SetAction(r => run(r, ctx => Execute(ctx, p.Read(r), r.GetValue(output)!, r.GetValue(direction),
            r.GetValue(shard) is { } s ? ShardSpec.Parse(s) : null)));
        return command;
    }

    /// <summary>The file a shard (or the whole pool) writes into <paramref name="outDir"/>.</summary>
    public static string OutputPath(string outDir, ShardSpec? shard) =>
        Path.Combine(outDir, shard is { } s ? $"scores.shard-{s.Index:D4}-of-{s.Count:D4}.csv" : "scores.csv");

    private static int Execute(CommandContext ctx, PipelineSettings settings, string outDir, string? directionFile, ShardSpec? shard)
    {
        if (File.Exists(outDir)) throw new UsageException("--out", $"'{outDir}' is a file; --out names the folder the scores go to.");
        var clock = Stopwatch.StartNew();
        if (directionFile is not null) DirectionFile.ReadMetadata(directionFile); // fail fast on a wrong file
        var (records, skipped) = DataFiles.ReadPool(settings.PoolFile!, settings.Format);
        var (pairs, skippedPairs) = DataFiles.ReadPairs(settings.PrefsFile!, settings.EffectivePrefsFormat);
        var (start, end) = (shard ?? ShardSpec.Whole).Slice(records.Count, settings.ChunkSize);
        ctx.Reporter.Info($"pool: {records.Count} negatives ({skipped} bad records skipped); prefs: {pairs.Count} pairs ({skippedPairs} skipped); " +
            (shard is { } sh ? $"shard {sh}: examples [{start}, {end})" : "all examples"));
        using var session = Session.Open(settings, ctx.Device);
        var fingerprint = Fingerprint.Compute(session, settings.PoolFile!, settings.PrefsFile!);
        double[] scores = [];
        double scoringSeconds = 0, scoringCpuSeconds = 0;
        if (end > start)
        {
            using var pool = session.Pool(directionFile is null ? records : records.Skip(start).Take(end - start).ToArray(), session.NeedsReference);
            var inner = session.Inner(pairs);
            InfluenceDirection v;
            BilevelProblem view;
            PreferenceBatch? prefs = null;
            try
            {
                if (directionFile is not null)
                {
                    v = DirectionFile.Load(directionFile, fingerprint, ctx.Device, session.Model.DType);
                    view = ScoringPipeline.SliceView(session, pool, inner, 0);
                }
                else
                {
                    prefs = session.Prefs(pairs);
                    var problem = new UnlearningProblem(session.Model, pool, inner, new DpoObjective(prefs, new DpoObjectiveOptions(settings.DpoBeta)));
                    v = ScoringPipeline.Direction(problem, settings, ctx.Cancellation);
                    view = ScoringPipeline.SliceView(session, pool, inner, start);
                }
                using (v)
                {
                    var scoringClock = Stopwatch.StartNew();
                    var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                    scores = ctx.Reporter.Progress(task =>
                    {
                        var bar = task($"scoring {end - start} examples", end - start);
                        return ScoringPipeline.Score(view, v, settings.CreateScorer(), end - start, done => bar.Report(done), ctx.Cancellation);
                    });
                    scoringSeconds = scoringClock.Elapsed.TotalSeconds;
                    scoringCpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
                }
            }
            finally
            {
                prefs?.Dispose();
            }
        }
        var rows = scores.Select((s, k) => new ScoreRow(start + k, s, SourceOf(records[start + k]))).ToArray();
        string path = OutputPath(outDir, shard);
        new ScoreFile(fingerprint.Combined, records.Count, settings.ChunkSize, shard, start, end, rows).Write(path);
        double seconds = clock.Elapsed.TotalSeconds;
        ctx.Reporter.Table("u2a score", new (string, string)[]
        {
            ("scores", path), ("examples", $"{rows.Length} of {records.Count}"), ("positive (unlearning helps J)", rows.Count(r => r.Score > 0).ToString()),
            ("top", string.Join(", ", rows.OrderByDescending(r => r.Score).Take(3).Select(r => $"#{r.Index} {r.Score:G4}"))),
            ("fingerprint", fingerprint.Combined[..16]),
            ("time", $"{seconds:F1} s in all; scoring {scoringSeconds:F2} s = {(rows.Length == 0 ? 0 : scoringSeconds / rows.Length):F3} s per example " +
                $"(process CPU time {(rows.Length == 0 ? 0 : scoringCpuSeconds / rows.Length):F3} s per example)"),
        });
        return 0;
    }

    /// <summary><c>file:line</c> of a record (the file's name only, so shards on other machines agree).</summary>
    public static string SourceOf(NegativeExample e) => e.Source is { } s ? $"{Path.GetFileName(s.File)}:{s.Line}" : "";
}
