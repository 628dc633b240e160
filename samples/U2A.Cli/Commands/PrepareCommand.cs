using System.CommandLine;
using System.Diagnostics;
using U2A.Cli.Pipeline;
using U2A.Cli.Scale;
using U2A.Core.Alignment;
using U2A.Core.Optimization;

namespace U2A.Cli.Commands;

/// <summary><c>u2a prepare</c>: the hypergradient direction v, once, for shards to score against.</summary>
public static class PrepareCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(Func<ParseResult, Func<CommandContext, int>, int> run)
    {
        var p = new PipelineOptions();
        var common = new CommonOptions();
        var output = new Option<string>("--out") { Description = "the direction file to write (safetensors)", Required = true };
        var command = new Command("prepare", "Compute the hypergradient direction v ~ H^-1 grad J at the starting parameters and write it with its fingerprint.");
        p.AddTo(command);
        command.Options.Add(output);
        common.AddTo(command);
        command.SetAction(r => run(r, ctx => Execute(ctx, p.Read(r), r.GetValue(output)!)));
        return command;
    }

    private static int Execute(CommandContext ctx, PipelineSettings settings, string output)
    {
        var clock = Stopwatch.StartNew();
        var (records, skipped) = DataFiles.ReadPool(settings.PoolFile!, settings.Format);
        var (pairs, skippedPairs) = DataFiles.ReadPairs(settings.PrefsFile!, settings.EffectivePrefsFormat);
        ctx.Reporter.Info($"pool: {records.Count} negatives ({skipped} skipped); prefs: {pairs.Count} pairs ({skippedPairs} skipped)");
        using var session = Session.Open(settings, ctx.Device);
        var fingerprint = Fingerprint.Compute(session, settings.PoolFile!, settings.PrefsFile!);
        using var pool = session.Pool(records, session.NeedsReference);
        using var prefs = session.Prefs(pairs);
        var problem = new UnlearningProblem(session.Model, pool, session.Inner(pairs), new DpoObjective(prefs, new DpoObjectiveOptions(settings.DpoBeta)));
        using var v = ScoringPipeline.Direction(problem, settings, ctx.Cancellation);
        string options = settings.CanonicalOptions(session.Base.Config.ModelType);
        DirectionFile.Save(output, v, fingerprint, options, records.Count);
        var rows = new List<(string, string)>
        {
            ("direction", output), ("estimator", settings.Estimator), ("parameters", $"{v.Terms[0].Direction.Count} tensors, {v.Terms[0].Direction.Sum(t => t.numel())} values"),
            ("pool", $"{records.Count} negatives, chunks of {settings.ChunkSize}"), ("fingerprint", fingerprint.Combined[..16]),
            ("time", $"{clock.Elapsed.TotalSeconds:F1} s"),
        };
        rows.AddRange(v.Diagnostics.Select(d => ($"diagnostics.{d.Key}", d.Value.ToString("G6"))));
        ctx.Reporter.Table("u2a prepare", rows);
        return 0;
    }
}
