using System.Text.Json.Nodes;
using U2A.Cli.Scale;
using U2A.Core.Models.Checkpoints;

namespace U2A.Cli.Tests.Commands;

/// <summary>
/// A model folder as current model families ship it: a (tiny, random) Qwen2-architecture checkpoint with the real Qwen3
/// tokenizer.json + tokenizer_config.json (committed, Apache-2.0) and no vocab.json/merges.txt; prompts formatted with the
/// folder's own chat template (<c>--template model</c>). Scoring and a short LoRA run work end to end.
/// </summary>
public sealed class RealTokenizerFolderTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "u2a-cli-qwen-" + Guid.NewGuid().ToString("N")[..10]);

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    [Fact]
    public void A_tokenizer_json_folder_with_its_chat_template_scores_and_runs()
    {
        string model = Path.Combine(_root, "model");
        Directory.CreateDirectory(model);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(TinyModelFolder.RepoRoot, "tests", "fixtures", "models", "qwen2", "config.json")))!.AsObject();
        config["vocab_size"] = 151_669;           // Qwen3's 151,643 BPE ids + 26 added tokens
        config["hidden_size"] = 16; config["intermediate_size"] = 24; config["num_hidden_layers"] = 1;
        config["num_attention_heads"] = 2; config["num_key_value_heads"] = 1;
        using (var m = CausalLMLoader.Create(HfConfig.Parse(config, "test config"), seed: 3)) CausalLMLoader.SavePretrained(m, model);
        string tokenizers = Path.Combine(TinyModelFolder.RepoRoot, "tests", "data", "tokenizers", "qwen3");
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json" }) File.Copy(Path.Combine(tokenizers, file), Path.Combine(model, file));
        var lines = File.ReadLines(TinyModelFolder.HhRlhf).Take(10).ToArray();
        string pool = Path.Combine(_root, "pool.jsonl"), prefs = Path.Combine(_root, "prefs.jsonl");
        File.WriteAllLines(pool, lines[..6]);
        File.WriteAllLines(prefs, lines[6..]);
        string[] Common(params string[] more) =>
            ["--model", model, "--pool", pool, "--prefs", prefs, "--template", "model", "--max-length", "40", "--truncation", "response",
             "--lora-rank", "2", "--chunk-size", "3", "--quiet", .. more];

        var score = U2a.InProcess(["score", .. Common("--out", Path.Combine(_root, "score"))]);
        Assert.True(score.ExitCode == 0, score.ToString());
        var rows = ScoreFile.Read(Path.Combine(_root, "score", "scores.csv")).Rows;
        Assert.Equal(6, rows.Count);
        Assert.All(rows, r => Assert.True(double.IsFinite(r.Score)));
        Assert.True(rows.Select(r => r.Score).Distinct().Count() == 6, "every example should score differently");

        var run = U2a.InProcess(["run", .. Common("--out", Path.Combine(_root, "run"), "--outer", "1", "--inner-steps", "2", "--batch-size", "3", "--k", "3", "--lr", "1e-2")]);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.True(File.Exists(Path.Combine(_root, "run", "adapter.safetensors")), run.ToString());
    }

    [Fact]
    public void Template_model_without_a_chat_template_names_the_option()
    {
        using var f = new TinyModelFolder();   // vocab.json + merges.txt, no chat template
        var r = U2a.InProcess(["score", .. f.Common("--out", f.Out("s"), "--template", "model")]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--template", r.Error + r.Output);
    }
}
