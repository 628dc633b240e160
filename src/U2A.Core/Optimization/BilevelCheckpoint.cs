using System.Globalization;
using System.Text.Json;
using U2A.Core.Models.Checkpoints;
using static TorchSharp.torch;

namespace U2A.Core.Optimization;

/// <summary>
/// Everything needed to resume a <see cref="BilevelOptimizer"/> run after a completed outer iteration: the trainable
/// parameters (and the best ones so far), the selection, the weights, the history and the position in the loop.
/// The inner optimiser starts fresh every outer iteration and every random stream is derived from
/// (seed, iteration), so no optimiser or generator state is needed at this boundary: a resumed run is
/// bitwise-identical to an uninterrupted one on CPU.
/// </summary>
public sealed class BilevelCheckpoint : IDisposable
{
    private const string StateFile = "state.json";
    private const string ParametersFile = "parameters.safetensors";
    private const string BestFile = "best-parameters.safetensors";

    /// <summary>Completed outer iterations.</summary>
    public required int CompletedIterations { get; init; }
    /// <summary>Scores of the pool at the start.</summary>
    public required double[] InitialScores { get; init; }
    /// <summary>Selected pool indices.</summary>
    public required int[] SelectedIndices { get; init; }
    /// <summary>Current weights.</summary>
    public required double[] Weights { get; init; }
    /// <summary>History so far.</summary>
    public required OuterIterationRecord[] History { get; init; }
    /// <summary>Iteration with the best PA score so far.</summary>
    public required int BestIteration { get; init; }
    /// <summary>Outer iterations since the PA score last improved.</summary>
    public required int IterationsWithoutImprovement { get; init; }
    /// <summary>The trainable parameters, in order.</summary>
    public required Tensor[] Parameters { get; init; }
    /// <summary>The trainable parameters of <see cref="BestIteration"/>, or null when not kept.</summary>
    public Tensor[]? BestParameters { get; init; }

    /// <summary>A hash of the run's options (except the iteration count and checkpoint folder), its parts' names and the pool size;
    /// a resume whose hash differs is refused. The parts' own settings are not covered: keep them fixed across a resume.</summary>
    public string? Fingerprint { get; init; }

    private sealed record State(int CompletedIterations, string[] InitialScores, int[] SelectedIndices, string[] Weights,
        OuterIterationRecordDto[] History, int BestIteration, int IterationsWithoutImprovement, int ParameterCount, bool HasBest, string? Fingerprint = null);

    private sealed record OuterIterationRecordDto(int Iteration, string Objective, string PaScore, int InnerSteps, string ForgetLoss, string ForgetNll, string[] Weights);

    // Doubles are stored as round-trip strings so that NaN and every bit survive.
    private static string D(double x) => x.ToString("R", CultureInfo.InvariantCulture);
    private static double P(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    /// <summary>Writes the checkpoint to <paramref name="directory"/> atomically (a new folder, then renamed over the old).</summary>
    public void Save(string directory)
    {
        string full = Path.GetFullPath(directory);
        string temp = full + ".tmp-" + Environment.ProcessId;
        if (Directory.Exists(temp)) Directory.Delete(temp, true);
        Directory.CreateDirectory(temp);
        var state = new State(CompletedIterations, InitialScores.Select(D).ToArray(), SelectedIndices, Weights.Select(D).ToArray(),
            History.Select(h => new OuterIterationRecordDto(h.Iteration, D(h.Objective), D(h.PaScore), h.InnerSteps, D(h.ForgetLoss), D(h.ForgetNll), h.Weights.Select(D).ToArray())).ToArray(),
            BestIteration, IterationsWithoutImprovement, Parameters.Length, BestParameters is not null, Fingerprint);
        File.WriteAllText(Path.Combine(temp, StateFile), JsonSerializer.Serialize(state, new JsonSerializerOptions { WriteIndented = true }));
        SafetensorsFile.Save(Path.Combine(temp, ParametersFile), Named(Parameters));
        if (BestParameters is not null) SafetensorsFile.Save(Path.Combine(temp, BestFile), Named(BestParameters));
        string old = full + ".old-" + Environment.ProcessId;
        if (Directory.Exists(full)) Directory.Move(full, old);
        Directory.Move(temp, full);
        if (Directory.Exists(old)) Directory.Delete(old, true);
    }

    /// <summary>Reads a checkpoint written by <see cref="Save"/>; tensors go to <paramref name="device"/>.</summary>
    /// <exception cref="InvalidDataException">A file is missing or inconsistent; the message names it.</exception>
    public static BilevelCheckpoint Load(string directory, Device? device = null)
    {
        string statePath = Path.Combine(directory, StateFile);
        if (!File.Exists(statePath)) throw new InvalidDataException($"{statePath}: no checkpoint state file.");
        var state = JsonSerializer.Deserialize<State>(File.ReadAllText(statePath))
            ?? throw new InvalidDataException($"{statePath}: empty checkpoint state.");
        var parameters = Unnamed(SafetensorsFile.Load(Path.Combine(directory, ParametersFile), device), state.ParameterCount, directory);
        var best = state.HasBest ? Unnamed(SafetensorsFile.Load(Path.Combine(directory, BestFile), device), state.ParameterCount, directory) : null;
        return new BilevelCheckpoint
        {
            CompletedIterations = state.CompletedIterations,
            InitialScores = state.InitialScores.Select(P).ToArray(),
            SelectedIndices = state.SelectedIndices,
            Weights = state.Weights.Select(P).ToArray(),
            History = state.History.Select(h => new OuterIterationRecord(h.Iteration, P(h.Objective), P(h.PaScore), h.InnerSteps, P(h.ForgetLoss), P(h.ForgetNll), h.Weights.Select(P).ToArray())).ToArray(),
            BestIteration = state.BestIteration,
            IterationsWithoutImprovement = state.IterationsWithoutImprovement,
            Parameters = parameters,
            BestParameters = best,
            Fingerprint = state.Fingerprint,
        };
    }

    private static Dictionary<string, Tensor> Named(Tensor[] tensors) =>
        tensors.Select((t, i) => (t, i)).ToDictionary(x => $"p{x.i:D5}", x => x.t);

    private static Tensor[] Unnamed(Dictionary<string, Tensor> named, int count, string directory)
    {
        if (named.Count != count) throw new InvalidDataException($"{directory}: {named.Count} parameter tensors, the state names {count}.");
        return Enumerable.Range(0, count).Select(i => named.TryGetValue($"p{i:D5}", out var t) ? t
            : throw new InvalidDataException($"{directory}: parameter p{i:D5} is missing.")).ToArray();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in Parameters) t.Dispose();
        if (BestParameters is not null) foreach (var t in BestParameters) t.Dispose();
    }
}
