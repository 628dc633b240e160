using System.CommandLine;
using U2A.Cli.Scale;

namespace U2A.Cli.Commands;

/// <summary><c>u2a merge</c>: joins shard score files into the single-process scores.csv.</summary>
public static class MergeCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(Func<ParseResult, Func<CommandContext, int>, int> run)
    {
        var shards = new Argument<string[]>("SHARDS") { Description = "the shard files written by u2a score --shard", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "the merged scores file", Required = true };
        var common = new CommonOptions();
        var command = new Command("merge", "Join shard score files, refusing mismatched fingerprints and missing or overlapping shards.");
        command.Arguments.Add(shards);
        command.Options.Add(output);
        common.AddTo(command);
        command.SetAction(r => run(r, ctx =>
        {
            var merged = ShardMerger.Merge(r.GetValue(shards)!);
            string path = r.GetValue(output)!;
            merged.Write(path);
            ctx.Reporter.Table("u2a merge", new (string, string)[]
            {
                ("scores", path), ("shards", r.GetValue(shards)!.Length.ToString()), ("examples", merged.Rows.Count.ToString()),
                ("fingerprint", merged.Fingerprint[..Math.Min(16, merged.Fingerprint.Length)]),
            });
            return 0;
        }));
        return command;
    }
}
