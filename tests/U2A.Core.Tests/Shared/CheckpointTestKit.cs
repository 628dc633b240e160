using System.Security.Cryptography;
using System.Text.Json.Nodes;
using U2A.Core.Optimization;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Shared;

/// <summary>Small hand-made checkpoints and ways to damage a saved one.</summary>
internal static class CheckpointTestKit
{
    /// <summary>A consistent checkpoint of a pool of 4 with 2 selected examples and two small parameter tensors.</summary>
    public static BilevelCheckpoint Small(int completed = 2, bool best = true, float offset = 0) => new()
    {
        CompletedIterations = completed,
        InitialScores = new[] { 0.5, -0.25, 1.0, 0.0 },
        SelectedIndices = new[] { 2, 0 },
        Weights = new[] { 0.75, 0.25 },
        History = Enumerable.Range(0, completed + 1).Select(i => new OuterIterationRecord(i, 0.7 - 0.1 * i, 0.1 * i, i == 0 ? 0 : 3,
            i == 0 ? double.NaN : 1.5, i == 0 ? double.NaN : 2.0, new[] { 0.75, 0.25 })).ToArray(),
        BestIteration = completed,
        IterationsWithoutImprovement = 0,
        Parameters = new[] { arange(6, dtype: ScalarType.Float32).reshape(2, 3) + offset, ones(4) * (2 + offset) },
        BestParameters = best ? new[] { zeros(2, 3), ones(4) } : null,
        Fingerprint = "F1NGERPR1NT",
    };

    /// <summary>Committed generation folders of a checkpoint folder, newest first.</summary>
    public static string[] Generations(string folder) =>
        Directory.GetDirectories(folder, "gen-*").Where(d => !Path.GetFileName(d).Contains('.')).OrderDescending().ToArray();

    /// <summary>Edits state.json of a generation and re-records its hash in the manifest, so only the edit is wrong.</summary>
    public static void EditState(string generation, Action<JsonObject> edit)
    {
        string path = Path.Combine(generation, "state.json");
        var state = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(state);
        Rewrite(generation, "state.json", System.Text.Encoding.UTF8.GetBytes(state.ToJsonString()));
    }

    /// <summary>Replaces a file of a generation and re-records its size and hash in the manifest.</summary>
    public static void Rewrite(string generation, string name, byte[] bytes)
    {
        File.WriteAllBytes(Path.Combine(generation, name), bytes);
        string manifestPath = Path.Combine(generation, "manifest.json");
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!.AsObject();
        foreach (var entry in manifest["Files"]!.AsArray())
            if ((string)entry!["Name"]! == name)
            {
                entry["Size"] = bytes.Length;
                entry["Sha256"] = Convert.ToHexString(SHA256.HashData(bytes));
            }
        File.WriteAllText(manifestPath, manifest.ToJsonString());
    }
}
