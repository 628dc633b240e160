using TorchSharp;
using System.Text.Json;
using U2A.Cli.Scale;
using U2A.Core.Models.Checkpoints;
using U2A.Core.Models.Lora;

namespace U2A.Cli.Tests.Commands;

/// <summary>The whole CLI on a tiny random GPT-2 folder with the HH-RLHF sample: score, run, eval, and what they write.</summary>
public sealed class EndToEndTests : IDisposable
{
    private readonly TinyModelFolder _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public void Score_run_and_eval_write_consistent_outputs()
    {
        // score: one row per pool example, in order, with its source line.
        var score = U2a.InProcess(["score", .. _f.Common("--out", _f.Out("score"))]);
        Assert.True(score.ExitCode == 0, score.ToString());
        var scores = ScoreFile.Read(Path.Combine(_f.Out("score"), "scores.csv"));
        Assert.Equal(TinyModelFolder.PoolCount, scores.Rows.Count);
        Assert.Equal(Enumerable.Range(0, TinyModelFolder.PoolCount), scores.Rows.Select(r => r.Index));
        Assert.Equal("pool.jsonl:1", scores.Rows[0].Source);
        Assert.Equal("pool.jsonl:20", scores.Rows[^1].Source);
        Assert.All(scores.Rows, r => Assert.True(double.IsFinite(r.Score)));
        Assert.True(scores.Rows.Select(r => r.Score).Distinct().Count() > 10, "scores should differ between examples");

        // run: 2 outer iterations of a few steps, top-4 selection, LoRA on c_attn.
        string runDir = _f.Out("run");
        var run = U2a.InProcess(["run", .. _f.Common("--out", runDir, "--outer", "2", "--inner-steps", "3", "--batch-size", "4", "--k", "4",
            "--lr", "1e-2", "--patience", "5")]);
        Assert.True(run.ExitCode == 0, run.ToString());
        foreach (var file in new[] { "adapter.safetensors", "report.json", "scores.csv", "plot.png" })
            Assert.True(File.Exists(Path.Combine(runDir, file)), $"{file} missing\n{run}");
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(Path.Combine(runDir, "plot.png"))[..4]);

        // The run's initial scores are the score command's, bitwise (same view, same chunks, one thread).
        Assert.Equal(File.ReadAllBytes(Path.Combine(_f.Out("score"), "scores.csv")), File.ReadAllBytes(Path.Combine(runDir, "scores.csv")));

        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(runDir, "report.json")));
        var root = report.RootElement;
        var history = root.GetProperty("history").EnumerateArray().ToArray();
        Assert.Equal([0, 1, 2], history.Select(h => h.GetProperty("iteration").GetInt32()));
        Assert.Equal(3, history[1].GetProperty("inner_steps").GetInt32());
        Assert.True(history[2].GetProperty("forget_nll").GetDouble() > 0);
        var selection = root.GetProperty("selection").EnumerateArray().ToArray();
        Assert.Equal(4, selection.Length);
        // topk picks the 4 highest initial scores.
        var top4 = scores.Rows.OrderByDescending(r => r.Score).Take(4).Select(r => r.Index).Order();
        Assert.Equal(top4, selection.Select(s => s.GetProperty("index").GetInt32()).Order());
        Assert.Equal("topk", root.GetProperty("settings").GetProperty("selector").GetString());
        Assert.Contains("weights=lora;rank=2", root.GetProperty("settings").GetProperty("options").GetString());
        Assert.Equal(scores.Fingerprint, root.GetProperty("fingerprint").GetString());
        double jStart = history[0].GetProperty("j").GetDouble(), jBest = history[root.GetProperty("best_iteration").GetInt32()].GetProperty("j").GetDouble();
        Assert.Equal(Math.Log(2), jStart, 6); // at the start the adapters are zero: the policy is pi_ref

        // The adapter loads back onto a fresh copy of the model and is not zero (the run trained it).
        string adapter = Path.Combine(runDir, "adapter.safetensors");
        Assert.Equal(2, LoraAdapterFile.ReadOptions(adapter).Rank);
        using (var model = CausalLMLoader.FromPretrained(_f.ModelDir))
        using (var lora = LoraModel.FromAdapterFile(model, adapter))
            Assert.Contains(lora.TrainableParameters, p => p.abs().max().ToDouble() > 0 && p.shape[1] == 2);

        // eval with the adapter reproduces the run's J of the kept (best) parameters.
        string evalJson = _f.Out("eval.json");
        var eval = U2a.InProcess("eval", "--model", _f.ModelDir, "--adapter", adapter, "--prefs", _f.Prefs, "--pool", _f.Pool, "--max-length", "48", "--truncation", "response", "--quiet", "--out", evalJson);
        Assert.True(eval.ExitCode == 0, eval.ToString());
        using var e = JsonDocument.Parse(File.ReadAllText(evalJson));
        Assert.Equal(jBest, e.RootElement.GetProperty("j").GetDouble(), 6);
        double accuracy = e.RootElement.GetProperty("accuracy").GetDouble();
        Assert.InRange(accuracy, 0, 1);
        Assert.True(e.RootElement.GetProperty("forget_nll").GetDouble() > 0);
        Assert.Contains("preference accuracy", eval.Output);

        // eval without an adapter: the model is its own pi_ref, J = log 2 exactly as DPO defines it.
        var plain = U2a.InProcess("eval", "--model", _f.ModelDir, "--prefs", _f.Prefs, "--max-length", "48", "--truncation", "response", "--quiet");
        Assert.True(plain.ExitCode == 0, plain.ToString());
        Assert.Contains(Math.Log(2).ToString("F6"), plain.Output);
    }
}
