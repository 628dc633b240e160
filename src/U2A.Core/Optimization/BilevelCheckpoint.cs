using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
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
/// <remarks>
/// <para>A checkpoint folder survives the process being killed at any instant (kill -9, out-of-memory killer, power
/// loss after the save returned): it always holds at least one complete, checksummed generation once the first save
/// has returned. The layout inside the folder that <see cref="Save"/> is given:</para>
/// <code>
/// checkpoint/
///   gen-000000012/              the newest committed generation
///     state.json                iterations, selection, weights, history (doubles as round-trip strings)
///     parameters.safetensors    the trainable parameters p00000, p00001, ... in the model's order
///     best-parameters.safetensors   the best iteration's parameters (when they are kept)
///     manifest.json             written last: format, generation, size and SHA-256 of each file above
///   gen-000000011/              the previous generation, kept as a fallback
///   gen-000000013.tmp-4711/     a save in progress, or one killed mid-way (removed by the next save or load)
///   .lock                       the writer lock (one run per folder)
/// </code>
/// <para>A save writes a new <c>gen-N.tmp-&lt;pid&gt;</c> folder, forces each file to disk, writes the manifest, then
/// renames the folder to <c>gen-N</c> (one atomic step) and only then deletes generations older than the previous
/// one. <see cref="Load"/> takes the newest generation whose manifest, sizes and hashes check out and whose state is
/// consistent, and falls back to older ones otherwise (<see cref="Source"/> and <see cref="SkippedGenerations"/> say
/// which was used and why the newer ones were not).</para>
/// </remarks>
public sealed class BilevelCheckpoint : IDisposable
{
    private const string StateFile = "state.json";
    private const string ParametersFile = "parameters.safetensors";
    private const string BestFile = "best-parameters.safetensors";

    /// <summary>Completed outer iterations.</summary>
    public required int CompletedIterations { get; init; }
    /// <summary>Scores of the pool at the start (one per pool example, so its length is the pool size).</summary>
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

    /// <summary>The folder this checkpoint was read from (a <c>gen-N</c> folder), or null when it was not loaded.</summary>
    public string? Source { get; private init; }

    /// <summary>Newer generations that <see cref="Load"/> found unusable (corrupt, incomplete or inconsistent), each with the reason; empty when the newest was used.</summary>
    public IReadOnlyList<string> SkippedGenerations { get; private init; } = Array.Empty<string>();

    private sealed record State(int CompletedIterations, string[] InitialScores, int[] SelectedIndices, string[] Weights,
        OuterIterationRecordDto[] History, int BestIteration, int IterationsWithoutImprovement, int ParameterCount, bool HasBest, string? Fingerprint = null);

    private sealed record OuterIterationRecordDto(int Iteration, string Objective, string PaScore, int InnerSteps, string ForgetLoss, string ForgetNll, string[] Weights);

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    // Doubles are stored as round-trip strings so that NaN and every bit survive.
    private static string D(double x) => x.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>
    /// Writes the checkpoint as a new generation of the checkpoint folder <paramref name="directory"/> (created if
    /// missing; see the remarks for the layout). The previous generation stays valid until the new one is committed by
    /// a single directory rename, so a kill at any instant leaves a loadable checkpoint (once one save has returned).
    /// Leftovers of killed saves are removed first; generations older than the previous one are removed last.
    /// </summary>
    /// <exception cref="InvalidOperationException">The checkpoint is inconsistent (the message names the field and values); nothing is written.</exception>
    /// <exception cref="IOException">Another run is writing to the same folder, or the disk failed.</exception>
    public void Save(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        if (Problem() is { } problem) throw new InvalidOperationException($"cannot save an inconsistent checkpoint: {problem}");
        string full = Path.GetFullPath(directory);
        Directory.CreateDirectory(full);
        using var writerLock = CheckpointStore.Lock(full, required: true)!;
        int pause = CheckpointStore.TestDelayMilliseconds(); // 0 outside the kill tests
        void Pause() { if (pause > 0) Thread.Sleep(pause); }
        CheckpointStore.RemoveTemporary(full);
        long generation = CheckpointStore.Committed(full).Select(g => g.Generation).DefaultIfEmpty(0).Max() + 1;
        string final = Path.Combine(full, CheckpointStore.GenerationName(generation));
        string temp = final + ".tmp-" + Environment.ProcessId;
        Directory.CreateDirectory(temp);
        try
        {
            var files = new List<CheckpointStore.FileEntry>();
            string statePath = Path.Combine(temp, StateFile);
            CheckpointStore.WriteDurably(statePath, JsonSerializer.SerializeToUtf8Bytes(ToState(), Json));
            files.Add(CheckpointStore.SyncAndHash(statePath));
            Pause();
            string parametersPath = Path.Combine(temp, ParametersFile);
            SafetensorsFile.Save(parametersPath, Named(Parameters));
            files.Add(CheckpointStore.SyncAndHash(parametersPath));
            Pause();
            if (BestParameters is not null)
            {
                string bestPath = Path.Combine(temp, BestFile);
                SafetensorsFile.Save(bestPath, Named(BestParameters));
                files.Add(CheckpointStore.SyncAndHash(bestPath));
                Pause();
            }
            CheckpointStore.WriteManifest(temp, generation, files);
            CheckpointStore.SyncDirectory(temp);
            Pause();
            Directory.Move(temp, final); // the commit
            CheckpointStore.SyncDirectory(full);
            Pause();
        }
        catch
        {
            try { if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true); }
            catch (IOException) { } // the next save or load removes it
            throw;
        }
        CheckpointStore.Prune(full);
        RemoveLegacyLayout(full);
    }

    /// <summary>
    /// Reads the newest usable generation of the checkpoint folder <paramref name="directory"/> written by
    /// <see cref="Save"/>; tensors go to <paramref name="device"/>. A generation whose manifest is missing, whose files
    /// do not match their recorded sizes and SHA-256 hashes, or whose state is inconsistent is skipped for the previous
    /// one (logged as a warning and listed in <see cref="SkippedGenerations"/>). Leftovers of killed saves are removed
    /// when no run is writing to the folder. Also reads the single-folder layout of earlier versions.
    /// </summary>
    /// <exception cref="InvalidDataException">The folder holds no checkpoint, or no usable one; the message names each file and what is wrong with it.</exception>
    public static BilevelCheckpoint Load(string directory, Device? device = null, ILogger? logger = null) =>
        TryLoad(directory, out var checkpoint, device, logger) ? checkpoint
            : throw new InvalidDataException($"{Path.GetFullPath(directory)}: no checkpoint here (no committed generation folder gen-<n>, no {StateFile}).");

    /// <summary>
    /// Like <see cref="Load"/>, but returns false when the folder holds no checkpoint at all (missing, empty, or only a
    /// save killed before its first commit): the case of a run that should start from scratch.
    /// </summary>
    /// <exception cref="InvalidDataException">The folder holds checkpoints but none is usable; the message names each file and what is wrong with it.</exception>
    public static bool TryLoad(string directory, [NotNullWhen(true)] out BilevelCheckpoint? checkpoint, Device? device = null, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        string full = Path.GetFullPath(directory);
        checkpoint = null;
        var candidates = Candidates(full);
        if (candidates.Count == 0)
        {
            CheckpointStore.Tidy(full, loadedGeneration: null);
            return false;
        }
        var skipped = new List<string>();
        var failures = new List<InvalidDataException>();
        foreach (var (folder, verified, generation) in candidates)
        {
            try
            {
                var loaded = LoadFolder(folder, verified, device);
                checkpoint = new BilevelCheckpoint
                {
                    CompletedIterations = loaded.CompletedIterations, InitialScores = loaded.InitialScores, SelectedIndices = loaded.SelectedIndices,
                    Weights = loaded.Weights, History = loaded.History, BestIteration = loaded.BestIteration,
                    IterationsWithoutImprovement = loaded.IterationsWithoutImprovement, Parameters = loaded.Parameters,
                    BestParameters = loaded.BestParameters, Fingerprint = loaded.Fingerprint,
                    Source = folder, SkippedGenerations = skipped.ToArray(),
                };
                if (skipped.Count > 0)
                    logger?.LogWarning("Checkpoint {Folder}: newer generation(s) unusable, resuming from {Source} ({Completed} completed iterations): {Reasons}",
                        full, folder, loaded.CompletedIterations, string.Join(" | ", skipped));
                else
                    logger?.LogInformation("Checkpoint {Source}: {Completed} completed iterations", folder, loaded.CompletedIterations);
                CheckpointStore.Tidy(full, generation);
                return true;
            }
            catch (Exception e) when (e is InvalidDataException or FileNotFoundException or DirectoryNotFoundException or EndOfStreamException)
            {
                var invalid = e as InvalidDataException ?? new InvalidDataException($"{folder}: {e.Message}", e);
                failures.Add(invalid);
                skipped.Add(invalid.Message);
            }
        }
        if (failures.Count == 1) throw failures[0];
        throw new InvalidDataException($"{full}: no usable checkpoint; {failures.Count} generations tried, newest first: " +
            string.Join(" | ", failures.Select(f => f.Message)), failures[0]);
    }

    /// <summary>Committed generations newest first, then the layout of earlier versions (files in the folder itself, or a
    /// sibling <c>&lt;folder&gt;.old-&lt;pid&gt;</c> left by a save killed between its two renames).</summary>
    private static List<(string Folder, bool Verified, long? Generation)> Candidates(string full)
    {
        var result = CheckpointStore.Committed(full).Select(g => (g.Path, true, (long?)g.Generation)).ToList();
        if (File.Exists(Path.Combine(full, StateFile))) result.Add((full, false, null));
        if (result.Count == 0)
            result.AddRange(LegacySiblings(full, ".old-").Where(d => File.Exists(Path.Combine(d, StateFile))).Select(d => (d, false, (long?)null)));
        return result;
    }

    private static IEnumerable<string> LegacySiblings(string full, string marker)
    {
        string? parent = Path.GetDirectoryName(full);
        if (parent is null || !Directory.Exists(parent)) return Array.Empty<string>();
        string prefix = Path.GetFileName(full) + marker;
        return Directory.EnumerateDirectories(parent, prefix + "*")
            .Where(d => int.TryParse(Path.GetFileName(d).AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out _))
            .ToArray();
    }

    /// <summary>After a generation is committed: the files and sibling folders of the earlier single-folder layout are stale.</summary>
    private static void RemoveLegacyLayout(string full)
    {
        if (File.Exists(Path.Combine(full, StateFile))) // only a checkpoint of the earlier layout, never a user's own files
            foreach (var name in new[] { ParametersFile, BestFile, StateFile })
            {
                string path = Path.Combine(full, name);
                if (File.Exists(path)) File.Delete(path);
            }
        foreach (var sibling in LegacySiblings(full, ".old-").Concat(LegacySiblings(full, ".tmp-")))
            if (File.Exists(Path.Combine(sibling, StateFile)) || !Directory.EnumerateFileSystemEntries(sibling).Any())
                Directory.Delete(sibling, recursive: true);
    }

    private static BilevelCheckpoint LoadFolder(string folder, bool verified, Device? device)
    {
        var manifest = verified ? CheckpointStore.Verify(folder, StateFile, ParametersFile) : null;
        string statePath = Path.Combine(folder, StateFile);
        if (!File.Exists(statePath)) throw new InvalidDataException($"{statePath}: no checkpoint state file.");
        State? state;
        try
        {
            state = JsonSerializer.Deserialize<State>(File.ReadAllBytes(statePath), Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{statePath}: not a valid checkpoint state (truncated or corrupt: {e.Message}).", e);
        }
        if (state is null) throw new InvalidDataException($"{statePath}: empty checkpoint state (the JSON is null).");
        var scalars = FromState(state, statePath);
        if (state.ParameterCount < 1)
            throw new InvalidDataException($"{statePath}: ParameterCount = {state.ParameterCount}; a checkpoint holds at least one parameter tensor.");
        string bestPath = Path.Combine(folder, BestFile);
        if (manifest is not null && state.HasBest && !manifest.Files.Any(f => f.Name == BestFile))
            throw new InvalidDataException($"{Path.Combine(folder, CheckpointStore.ManifestFile)}: does not list {BestFile}, but {statePath} has HasBest = true.");
        Tensor[]? parameters = null, best = null;
        try
        {
            parameters = Unnamed(Path.Combine(folder, ParametersFile), state.ParameterCount, device);
            if (state.HasBest) best = Unnamed(bestPath, state.ParameterCount, device);
            var checkpoint = new BilevelCheckpoint
            {
                CompletedIterations = scalars.CompletedIterations, InitialScores = scalars.InitialScores, SelectedIndices = scalars.SelectedIndices,
                Weights = scalars.Weights, History = scalars.History, BestIteration = scalars.BestIteration,
                IterationsWithoutImprovement = scalars.IterationsWithoutImprovement, Parameters = parameters, BestParameters = best,
                Fingerprint = state.Fingerprint,
            };
            if (checkpoint.Problem() is { } problem) throw new InvalidDataException($"{statePath}: {problem}");
            return checkpoint;
        }
        catch
        {
            if (parameters is not null) foreach (var t in parameters) t.Dispose();
            if (best is not null) foreach (var t in best) t.Dispose();
            throw;
        }
    }

    private State ToState() => new(CompletedIterations, InitialScores.Select(D).ToArray(), SelectedIndices, Weights.Select(D).ToArray(),
        History.Select(h => new OuterIterationRecordDto(h.Iteration, D(h.Objective), D(h.PaScore), h.InnerSteps, D(h.ForgetLoss), D(h.ForgetNll), h.Weights.Select(D).ToArray())).ToArray(),
        BestIteration, IterationsWithoutImprovement, Parameters.Length, BestParameters is not null, Fingerprint);

    /// <summary>The scalar part of a state file, with every number parsed; tensors are filled in by the caller.</summary>
    private static (int CompletedIterations, double[] InitialScores, int[] SelectedIndices, double[] Weights, OuterIterationRecord[] History,
        int BestIteration, int IterationsWithoutImprovement) FromState(State s, string statePath)
    {
        double P(string? text, string field) =>
            double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v
                : throw new InvalidDataException($"{statePath}: {field} = {(text is null ? "null" : $"\"{text}\"")} is not a number.");
        double[] All(string[] texts, string field) => texts.Select((t, i) => P(t, $"{field}[{i}]")).ToArray();
        var history = s.History.Select((h, i) => h is null
            ? throw new InvalidDataException($"{statePath}: History[{i}] is null.")
            : new OuterIterationRecord(h.Iteration, P(h.Objective, $"History[{i}].Objective"), P(h.PaScore, $"History[{i}].PaScore"), h.InnerSteps,
                P(h.ForgetLoss, $"History[{i}].ForgetLoss"), P(h.ForgetNll, $"History[{i}].ForgetNll"), All(h.Weights, $"History[{i}].Weights"))).ToArray();
        return (s.CompletedIterations, All(s.InitialScores, "InitialScores"), s.SelectedIndices, All(s.Weights, "Weights"), history,
            s.BestIteration, s.IterationsWithoutImprovement);
    }

    /// <summary>
    /// The first inconsistency between the fields, as a sentence naming the field(s) and value(s), or null. The pool
    /// size is <see cref="InitialScores"/>' length.
    /// </summary>
    internal string? Problem()
    {
        static string F(double x) => x.ToString("R", CultureInfo.InvariantCulture);
        if (CompletedIterations < 0) return $"CompletedIterations = {CompletedIterations}; it must be at least 0.";
        if (InitialScores is null || InitialScores.Length == 0) return "InitialScores is empty; it holds one influence score per pool example.";
        int pool = InitialScores.Length;
        for (int i = 0; i < pool; i++)
            if (!double.IsFinite(InitialScores[i])) return $"InitialScores[{i}] = {F(InitialScores[i])}; influence scores are finite.";
        if (SelectedIndices is null) return "SelectedIndices is missing.";
        var seen = new Dictionary<int, int>();
        for (int i = 0; i < SelectedIndices.Length; i++)
        {
            int x = SelectedIndices[i];
            if (x < 0 || x >= pool)
                return $"SelectedIndices[{i}] = {x} is outside the pool of {pool} examples (the length of InitialScores; valid indices are 0..{pool - 1}).";
            if (!seen.TryAdd(x, i)) return $"SelectedIndices[{i}] = {x} repeats SelectedIndices[{seen[x]}]; an example is selected at most once.";
        }
        if (Weights is null) return "Weights is missing.";
        if (Weights.Length != SelectedIndices.Length)
            return $"Weights has {Weights.Length} entries but SelectedIndices has {SelectedIndices.Length}; there is one weight per selected example.";
        for (int i = 0; i < Weights.Length; i++)
            if (!double.IsFinite(Weights[i]) || Weights[i] < 0) return $"Weights[{i}] = {F(Weights[i])}; weights are finite and non-negative.";
        if (History is null) return "History is missing.";
        if (History.Length != CompletedIterations + 1)
            return $"History holds {History.Length} records but CompletedIterations = {CompletedIterations} needs {CompletedIterations + 1} (the start, then one per completed outer iteration).";
        for (int i = 0; i < History.Length; i++)
        {
            var h = History[i];
            if (h is null) return $"History[{i}] is missing.";
            if (h.Iteration != i) return $"History[{i}].Iteration = {h.Iteration}, expected {i} (the records run 0..CompletedIterations in order).";
            if (!double.IsFinite(h.Objective) || !double.IsFinite(h.PaScore))
                return $"History[{i}] has Objective = {F(h.Objective)} and PaScore = {F(h.PaScore)}; both are finite after a completed iteration.";
            if (h.InnerSteps < 0) return $"History[{i}].InnerSteps = {h.InnerSteps}; it must be at least 0.";
            if (h.Weights is null || h.Weights.Count != SelectedIndices.Length)
                return $"History[{i}].Weights has {h.Weights?.Count ?? 0} entries but SelectedIndices has {SelectedIndices.Length}.";
        }
        if (BestIteration < 0 || BestIteration > CompletedIterations)
            return $"BestIteration = {BestIteration} is outside 0..CompletedIterations = {CompletedIterations}.";
        if (IterationsWithoutImprovement < 0 || IterationsWithoutImprovement > CompletedIterations - BestIteration)
            return $"IterationsWithoutImprovement = {IterationsWithoutImprovement}, but {CompletedIterations - BestIteration} iteration(s) followed BestIteration = {BestIteration} (CompletedIterations = {CompletedIterations}).";
        if (Parameters is null || Parameters.Length == 0) return "Parameters is empty; a checkpoint holds at least one trainable parameter.";
        for (int i = 0; i < Parameters.Length; i++)
            if (Parameters[i] is null || Parameters[i].IsInvalid) return $"Parameters[{i}] is missing or disposed.";
        if (BestParameters is not null)
        {
            if (BestParameters.Length != Parameters.Length)
                return $"BestParameters has {BestParameters.Length} tensors but Parameters has {Parameters.Length}.";
            for (int i = 0; i < Parameters.Length; i++)
            {
                var (p, b) = (Parameters[i], BestParameters[i]);
                if (b is null || b.IsInvalid) return $"BestParameters[{i}] is missing or disposed.";
                if (!b.shape.SequenceEqual(p.shape)) return $"BestParameters[{i}] has shape {Shape(b)} but Parameters[{i}] has {Shape(p)}.";
                if (b.dtype != p.dtype) return $"BestParameters[{i}] has dtype {b.dtype} but Parameters[{i}] has {p.dtype}.";
            }
        }
        return null;
    }

    /// <summary>
    /// Checks that this checkpoint can resume a run over a pool of <paramref name="poolSize"/> with
    /// <paramref name="outerIterations"/> outer iterations on a model with <paramref name="parameters"/>.
    /// </summary>
    /// <exception cref="ArgumentException">It cannot; the message names the field and both values (parameter name <paramref name="argumentName"/>).</exception>
    internal void CheckResumable(int poolSize, int outerIterations, IReadOnlyList<Tensor> parameters, string argumentName)
    {
        void Require(bool ok, string message)
        {
            if (!ok) throw new ArgumentException($"the checkpoint{(Source is null ? "" : $" {Source}")} {message}", argumentName);
        }
        if (Problem() is { } problem) Require(false, $"is inconsistent: {problem}");
        Require(InitialScores.Length == poolSize,
            $"was made for a pool of {InitialScores.Length} examples (InitialScores.Length), but the pool passed to Run has {poolSize}; resume it with the same pool.");
        Require(CompletedIterations <= outerIterations,
            $"has CompletedIterations = {CompletedIterations}, more than BilevelOptions.OuterIterations = {outerIterations}; set OuterIterations to at least {CompletedIterations} to resume it.");
        Require(Parameters.Length == parameters.Count,
            $"holds {Parameters.Length} parameter tensors but the model has {parameters.Count} trainable parameters; resume it with the model (and LoRA targets) it was made with.");
        for (int i = 0; i < parameters.Count; i++)
        {
            Require(Parameters[i].shape.SequenceEqual(parameters[i].shape),
                $"has parameter {i} of shape {Shape(Parameters[i])} but the model's trainable parameter {i} has shape {Shape(parameters[i])}.");
            Require(Parameters[i].dtype == parameters[i].dtype,
                $"has parameter {i} of dtype {Parameters[i].dtype} but the model's trainable parameter {i} has dtype {parameters[i].dtype}.");
        }
    }

    private static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";

    private static Dictionary<string, Tensor> Named(Tensor[] tensors) =>
        tensors.Select((t, i) => (t, i)).ToDictionary(x => $"p{x.i:D5}", x => x.t);

    private static Tensor[] Unnamed(string path, int count, Device? device)
    {
        if (!File.Exists(path)) throw new InvalidDataException($"{path}: missing.");
        var named = SafetensorsFile.Load(path, device);
        try
        {
            if (named.Count != count) throw new InvalidDataException($"{path}: {named.Count} parameter tensors, but the state's ParameterCount is {count}.");
            return Enumerable.Range(0, count).Select(i => named.TryGetValue($"p{i:D5}", out var t) ? t
                : throw new InvalidDataException($"{path}: parameter p{i:D5} is missing.")).ToArray();
        }
        catch
        {
            foreach (var t in named.Values) t.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in Parameters) t.Dispose();
        if (BestParameters is not null) foreach (var t in BestParameters) t.Dispose();
    }
}
