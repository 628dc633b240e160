using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using U2A.Cli.Pipeline;
using U2A.Core.Alignment;
using U2A.Core.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace U2A.Cli.Commands;

/// <summary><c>u2a eval</c>: J (DPO loss), preference accuracy and forget NLL of a model, with or without an adapter.</summary>
public static class EvalCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(Func<ParseResult, Func<CommandContext, int>, int> run)
    {
        var p = new PipelineOptions(poolOptional: true);
        var common = new CommonOptions();
        var adapter = new Option<string?>("--adapter") { Description = "a LoRA adapter (u2a run's adapter.safetensors); pi_ref is then the model without it" };
        var reference = new Option<string?>("--reference") { Description = "pi_ref as another model folder (e.g. the start of a --full run); default: the model without the adapter, or the model itself" };
        var output = new Option<string?>("--out") { Description = "also write the numbers as JSON to this file" };
        var command = new Command("eval", "J (DPO loss against pi_ref), preference accuracy, and the forget NLL of the pool.");
        foreach (var o in new Option[] { p.Model, adapter, reference, p.Prefs, p.Pool, p.Format, p.PrefsFormat, p.Template, p.MaxLength, p.Truncation, p.DpoBeta, output })
            command.Options.Add(o);
        common.AddTo(command);
        command.SetAction(r => run(r, ctx => Execute(ctx, ReadSettings(r, p, adapter), r.GetValue(adapter), r.GetValue(reference), r.GetValue(output))));
        return command;
    }

    private static PipelineSettings ReadSettings(ParseResult r, PipelineOptions p, Option<string?> adapter) => new PipelineSettings
        {
            ModelDir = r.GetValue(p.Model)!, PrefsFile = r.GetValue(p.Prefs), PoolFile = r.GetValue(p.Pool), Format = r.GetValue(p.Format)!,
            PrefsFormat = r.GetValue(p.PrefsFormat), Template = r.GetValue(p.Template), MaxLength = r.GetValue(p.MaxLength), Truncation = r.GetValue(p.Truncation)!, DpoBeta = r.GetValue(p.DpoBeta),
            Full = r.GetValue(adapter) is null,
        }.Validate();

    private static int Execute(CommandContext ctx, PipelineSettings settings, string? adapter, string? referenceDir, string? output)
    {
        var (pairs, skippedPairs) = DataFiles.ReadPairs(settings.PrefsFile!, settings.EffectivePrefsFormat);
        using var session = Session.Open(settings, ctx.Device, adapter);
        using var referenceModel = referenceDir is null ? null : ModelFolder.LoadModel(referenceDir, ctx.Device, "--reference");
        if (referenceModel is not null)
        {
            referenceModel.SetTraining(false);
            session.UseReference(new FrozenModelReference(referenceModel));
        }
        using var prefs = session.Prefs(pairs);
        var j = new DpoObjective(prefs, new DpoObjectiveOptions(settings.DpoBeta));
        double objective, accuracy;
        double? forgetNll = null;
        int poolCount = 0;
        // Forward-only, as the optimizer evaluates: no gradients, and a LoRA model's adapters merged once (so J here is the
        // run's J of the same parameters, to the last bit).
        using (ForwardOnlyPasses.Enter(session.Model))
        {
            objective = -j.Evaluate(session.Model, ctx.Cancellation);
            accuracy = j.Accuracy(session.Model, ctx.Cancellation);
            if (settings.PoolFile is not null)
            {
                var (records, _) = DataFiles.ReadPool(settings.PoolFile, settings.Format);
                poolCount = records.Count;
                using var pool = session.Collator.Negatives(records);
                forgetNll = ForgetNll(session.Model, pool, ctx.Cancellation);
            }
        }
        string against = referenceDir ?? (adapter is null ? "the model itself" : "the model without the adapter");
        var rows = new List<(string, string)>
        {
            ("J (DPO loss, lower is better)", objective.ToString("F6")),
            ("preference accuracy", $"{accuracy:P1} of {pairs.Count} pairs ({skippedPairs} skipped)"),
            ("pi_ref", against),
        };
        if (forgetNll is { } nll) rows.Add(("forget NLL (nats/token, mean over negatives)", $"{nll:F4} over {poolCount}"));
        ctx.Reporter.Table("u2a eval", rows);
        if (output is not null)
        {
            var json = new JsonObject
            {
                ["model"] = settings.ModelDir, ["adapter"] = adapter, ["reference"] = against, ["j"] = objective, ["accuracy"] = accuracy,
                ["pairs"] = pairs.Count, ["forget_nll"] = forgetNll, ["pool_count"] = settings.PoolFile is null ? null : poolCount,
            };
            File.WriteAllText(output, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }
        return 0;
    }

    /// <summary>The mean over negatives of each response's token-mean NLL, without gradients, 32 rows at a time.</summary>
    public static double ForgetNll(ICausalLM model, U2A.Core.Data.TokenBatch pool, CancellationToken ct)
    {
        using var noGrad = no_grad();
        double total = 0;
        for (int start = 0; start < pool.Count; start += 32)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            using var chunk = pool.Select(Enumerable.Range(start, Math.Min(32, pool.Count - start)).Select(i => (long)i).ToArray());
            total += ResponseLogProbs.Compute(model, chunk).MeanNll.to_type(ScalarType.Float64).sum().ToDouble();
        }
        return total / pool.Count;
    }
}
