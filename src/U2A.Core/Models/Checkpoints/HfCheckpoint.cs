using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace U2A.Core.Models.Checkpoints;

/// <summary>
/// Loads and saves Hugging Face checkpoints: <c>config.json</c> plus <c>model.safetensors</c>, or shards listed in
/// <c>model.safetensors.index.json</c> (its <c>weight_map</c>). Every shard header is validated (unknown tensor names,
/// duplicates and shape mismatches are errors naming the tensor) before any weight is copied; missing tensors are errors too.
/// </summary>
public static class HfCheckpoint
{
    /// <summary>File name of a single-file checkpoint.</summary>
    public const string SingleFileName = "model.safetensors";

    /// <summary>File name of the index of a sharded checkpoint.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    /// <summary>The safetensors files of the checkpoint in <paramref name="directory"/> and, for a sharded one, the
    /// tensor names the index assigns to each file (null for a single file).</summary>
    public static IReadOnlyList<(string File, IReadOnlySet<string>? IndexedNames)> ResolveFiles(string directory)
    {
        string single = Path.Combine(directory, SingleFileName), index = Path.Combine(directory, IndexFileName);
        if (File.Exists(single)) return new[] { (single, (IReadOnlySet<string>?)null) };
        if (!File.Exists(index))
            throw new FileNotFoundException($"{directory}: no {SingleFileName} and no {IndexFileName}.", single);
        var map = HfConfig.ReadJsonObject(index)["weight_map"] as JsonObject
            ?? throw new InvalidDataException($"{index}: required field 'weight_map' is missing or not an object.");
        var byFile = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (name, node) in map)
        {
            string file = node is JsonValue v && v.TryGetValue<string>(out var s) ? s
                : throw new InvalidDataException($"{index}: weight_map entry '{name}' must be a file name.");
            if (file.Length == 0 || Path.GetFileName(file) != file)
                throw new InvalidDataException($"{index}: weight_map entry '{name}' names '{file}', which is not a plain file name in the checkpoint directory.");
            if (!byFile.TryGetValue(file, out var names)) byFile[file] = names = new HashSet<string>(StringComparer.Ordinal);
            names.Add(name);
        }
        var result = new List<(string, IReadOnlySet<string>?)>();
        foreach (var (file, names) in byFile.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            string path = Path.Combine(directory, file);
            if (!File.Exists(path)) throw new FileNotFoundException($"{index}: shard '{file}' (holding '{names.First()}') does not exist.", path);
            result.Add((path, names));
        }
        return result;
    }

    /// <summary>Copies the checkpoint in <paramref name="directory"/> into <paramref name="model"/>'s parameters (in place,
    /// converting to the model's dtype and device). Throws <see cref="InvalidDataException"/>, naming the file and the tensor,
    /// on malformed files and on unknown, duplicate, missing or misshapen tensors, and on a tensor whose dtype cannot
    /// represent its parameter: the same dtype is accepted, and any floating-point dtype (F64, F32, F16, BF16) for a
    /// floating-point parameter; integer and boolean tensors never load into floating-point parameters. Every header is
    /// checked before any parameter changes. A save into <paramref name="directory"/> that was interrupted is finished or
    /// removed first (see <see cref="RecoverInterruptedSave"/>).</summary>
    public static void LoadInto(IHfCheckpointModel model, string directory)
    {
        ArgumentNullException.ThrowIfNull(model);
        RecoverInterruptedSave(directory);
        var bindings = model.HfTensors.ToDictionary(b => b.Name, StringComparer.Ordinal);
        var files = ResolveFiles(directory);
        // First pass: validate every header, so a bad shard is found before any weight changes.
        var plan = new List<(string File, Dictionary<string, HfTensorBinding> Keys)>();
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (file, indexed) in files)
        {
            var (entries, _, _) = SafetensorsFile.ReadHeader(file);
            var keys = new Dictionary<string, HfTensorBinding>(StringComparer.Ordinal);
            foreach (var e in entries)
            {
                if (indexed is not null && !indexed.Contains(e.Name))
                    throw new InvalidDataException($"{file}: tensor '{e.Name}' is not listed for this shard in {IndexFileName}.");
                string? name = model.MapCheckpointKey(e.Name);
                if (name is null) continue;
                if (!bindings.TryGetValue(name, out var binding))
                    throw new InvalidDataException($"{file}: tensor '{e.Name}' is not a parameter of {model.GetType().Name} ({model.Config.ModelType}).");
                if (seen.TryGetValue(name, out var other))
                    throw new InvalidDataException($"{file}: tensor '{e.Name}' also appears in {other}.");
                var expected = binding.Transposed ? binding.Parameter.shape.Reverse().ToArray() : binding.Parameter.shape;
                if (!expected.SequenceEqual(e.Shape))
                    throw new InvalidDataException($"{file}: tensor '{e.Name}' has shape [{string.Join(", ", e.Shape)}], expected [{string.Join(", ", expected)}].");
                if (!CanLoad(e.DType, binding.Parameter.dtype))
                    throw new InvalidDataException($"{file}: tensor '{e.Name}' has dtype {e.DType}, which cannot load into parameter '{binding.Name}' of dtype {binding.Parameter.dtype} " +
                        "(accepted: the same dtype, or F64, F32, F16 or BF16 for a floating-point parameter).");
                seen[name] = file;
                keys[e.Name] = binding;
            }
            if (indexed is not null)
                foreach (var name in indexed)
                    if (!entries.Any(e => e.Name == name))
                        throw new InvalidDataException($"{file}: tensor '{name}', listed for this shard in {IndexFileName}, is not in the file.");
            plan.Add((file, keys));
        }
        var missing = bindings.Keys.Where(k => !seen.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"{directory}: checkpoint lacks tensor '{missing[0]}'" + (missing.Count > 1 ? $" and {missing.Count - 1} more ({string.Join(", ", missing.Skip(1).Take(5))}...)." : "."));

        // Second pass: load one file at a time and copy in place.
        foreach (var (file, keys) in plan)
        {
            var tensors = SafetensorsFile.Load(file, model.Device, model.DType, keys.ContainsKey);
            try
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                foreach (var (key, binding) in keys)
                {
                    var t = tensors[key];
                    if (binding.Transposed) binding.Parameter.copy_(t.t());
                    else binding.Parameter.copy_(t);
                }
            }
            finally
            {
                foreach (var t in tensors.Values) t.Dispose();
            }
        }
    }

    /// <summary>Whether a tensor stored as <paramref name="dtype"/> may be copied into a parameter of <paramref name="parameter"/>
    /// type: the same type, or floating point into floating point.</summary>
    private static bool CanLoad(string dtype, ScalarType parameter) =>
        SafetensorsFile.ScalarTypeOf(dtype) is { } stored
        && (stored == parameter || (torch.is_floating_point(stored) && torch.is_floating_point(parameter)));

    /// <summary>
    /// Finishes or removes what a <see cref="Save"/> into <paramref name="directory"/> left behind when its process died:
    /// a staging folder whose files were all written is moved into place (the save had completed its writing, so its
    /// checkpoint replaces the previous one), any other staging folder is deleted, and so are the temporary files of
    /// <c>model*.safetensors</c> writes. Staging folders of processes that still run are left alone. <see cref="LoadInto"/>,
    /// <see cref="CausalLMLoader.FromPretrained"/> and <see cref="Save"/> call this first; call it yourself only to clean a
    /// directory without loading it. Does nothing when the directory does not exist.
    /// </summary>
    /// <exception cref="IOException">A complete staging folder could not be moved into place (the message names it).</exception>
    public static void RecoverInterruptedSave(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        HfCheckpointStaging.Recover(directory);
    }

    /// <summary>
    /// Writes <paramref name="model"/> in Hugging Face layout: <c>config.json</c> and <c>model.safetensors</c>, or, when
    /// <paramref name="maxShardBytes"/> is positive and the weights exceed it, shards <c>model-0000i-of-0000n.safetensors</c>
    /// with <c>model.safetensors.index.json</c>. Tensors are written in <paramref name="dtype"/> (default: the model's).
    /// Everything is first written to a staging folder <c>.u2a-save-*</c> inside <paramref name="directory"/>; only when all
    /// files are complete is the folder marked complete and are they moved into place (weights, then the other
    /// <c>model*.safetensors*</c> files of a previous checkpoint are deleted, then the index and <c>config.json</c>), so a
    /// stale index or shard never mixes in and a save that fails while writing leaves the previous checkpoint as it was.
    /// If the process dies (killed, power kept) at any point, the next save or load of the directory (see
    /// <see cref="RecoverInterruptedSave"/>) sees the previous checkpoint when the writing had not finished, or finishes
    /// the moves and sees the new one when it had: never a mixture of two, never none once there was one. Data is not
    /// flushed to the disk (no fsync), so this does not extend to a crash of the machine itself. Saves and loads of one
    /// directory from several processes at the same time are not coordinated.
    /// </summary>
    public static void Save(IHfCheckpointModel model, string directory, ScalarType? dtype = null, long maxShardBytes = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        Directory.CreateDirectory(directory);
        HfCheckpointStaging.Recover(directory);
        string staging = HfCheckpointStaging.Create(directory);
        try
        {
            var written = WriteCheckpoint(model, staging, dtype, maxShardBytes);
            HfCheckpointStaging.MarkComplete(staging, written);
            try
            {
                HfCheckpointStaging.Commit(directory, staging, written);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                try
                {
                    HfCheckpointStaging.Commit(directory, staging, written); // the steps are idempotent: a transient failure is finished here
                }
                catch (Exception again) when (again is IOException or UnauthorizedAccessException)
                {
                    throw new IOException($"{directory}: the new checkpoint was written completely, but moving it into place failed twice ({again.Message}); " +
                        "the directory may now hold parts of two checkpoints: save again once the cause is fixed.", again);
                }
            }
        }
        finally
        {
            // The marker goes first: a staging folder that could not be deleted must never be rolled forward later, over
            // a newer checkpoint. Best effort: a failure to clean up must not hide the exception that made the save fail.
            try { File.Delete(Path.Combine(staging, HfCheckpointStaging.MarkerFile)); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            HfCheckpointStaging.DeleteBestEffort(staging);
        }
    }

    /// <summary>Writes the checkpoint's files into <paramref name="directory"/> (empty); returns their names in the order
    /// they are to be moved into place.</summary>
    internal static List<string> WriteCheckpoint(IHfCheckpointModel model, string directory, ScalarType? dtype, long maxShardBytes)
    {
        using var scope = NewDisposeScope();
        var tensors = new List<(string Name, Tensor Tensor)>();
        foreach (var b in model.HfTensors)
        {
            var t = b.Parameter.detach();
            if (b.Transposed) t = t.t();
            if (dtype is { } target && t.dtype != target) t = t.to_type(target);
            tensors.Add((b.Name, t.cpu().contiguous()));
        }
        var metadata = new Dictionary<string, string> { ["format"] = "pt" };
        long Bytes(Tensor t) => t.numel() * t.ElementSize;
        long total = tensors.Sum(t => Bytes(t.Tensor));
        var written = new List<string>();
        if (maxShardBytes <= 0 || total <= maxShardBytes)
        {
            SafetensorsFile.Save(Path.Combine(directory, SingleFileName), tensors.ToDictionary(t => t.Name, t => t.Tensor), metadata);
            written.Add(SingleFileName);
        }
        else
        {
            var shards = new List<List<(string Name, Tensor Tensor)>> { new() };
            long current = 0;
            foreach (var t in tensors)
            {
                if (current > 0 && current + Bytes(t.Tensor) > maxShardBytes) { shards.Add(new()); current = 0; }
                shards[^1].Add(t);
                current += Bytes(t.Tensor);
            }
            var weightMap = new JsonObject();
            for (int i = 0; i < shards.Count; i++)
            {
                string file = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
                SafetensorsFile.Save(Path.Combine(directory, file), shards[i].ToDictionary(t => t.Name, t => t.Tensor), metadata);
                foreach (var (name, _) in shards[i]) weightMap[name] = file;
                written.Add(file);
            }
            var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = weightMap };
            File.WriteAllText(Path.Combine(directory, IndexFileName), index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            written.Add(IndexFileName);
        }
        HfConfig.Write(model.Config, Path.Combine(directory, HfConfig.FileName));
        written.Add(HfConfig.FileName);
        return written;
    }
}
