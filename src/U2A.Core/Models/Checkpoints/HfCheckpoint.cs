using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace U2A.Core.Models.Checkpoints;

/// <summary>One model parameter and the name (and layout) of its tensor in a Hugging Face checkpoint.</summary>
/// <param name="Name">The Hugging Face tensor name, e.g. <c>model.layers.0.self_attn.q_proj.weight</c>.</param>
/// <param name="Parameter">The model's parameter.</param>
/// <param name="Transposed">True when the checkpoint stores the transpose of the parameter (GPT-2's <c>Conv1D</c> weights, [in, out]).</param>
public sealed record HfTensorBinding(string Name, Parameter Parameter, bool Transposed);

/// <summary>A causal LM that maps its parameters to the tensors of a Hugging Face checkpoint.</summary>
public interface IHfCheckpointModel : ICausalLM
{
    /// <summary>The model's configuration (written as <c>config.json</c>).</summary>
    IHfModelConfig Config { get; }

    /// <summary>Every parameter with its checkpoint name, in a fixed order.</summary>
    IReadOnlyList<HfTensorBinding> HfTensors { get; }

    /// <summary>The binding name a checkpoint tensor name loads into, or null when the tensor is to be skipped
    /// (constant buffers such as GPT-2's causal masks, or a copy of tied embeddings). Unknown names are returned as they are.</summary>
    string? MapCheckpointKey(string checkpointKey);
}

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
        JsonObject map;
        try
        {
            map = (JsonNode.Parse(File.ReadAllText(index)) as JsonObject)?["weight_map"] as JsonObject
                ?? throw new InvalidDataException($"{index}: required field 'weight_map' is missing or not an object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{index}: not valid JSON: {e.Message}", e);
        }
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
    /// converting to the model's dtype and device). Throws, naming the tensor, on unknown, duplicate, missing or misshapen tensors.</summary>
    public static void LoadInto(IHfCheckpointModel model, string directory)
    {
        ArgumentNullException.ThrowIfNull(model);
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

    /// <summary>
    /// Writes <paramref name="model"/> in Hugging Face layout: <c>config.json</c> and <c>model.safetensors</c>, or, when
    /// <paramref name="maxShardBytes"/> is positive and the weights exceed it, shards <c>model-0000i-of-0000n.safetensors</c>
    /// with <c>model.safetensors.index.json</c>. Tensors are written in <paramref name="dtype"/> (default: the model's).
    /// Everything is first written to a temporary folder inside <paramref name="directory"/>; only when all files are
    /// complete are they moved into place (weights, then the index, then <c>config.json</c>) and the other
    /// <c>model*.safetensors*</c> files of a previous checkpoint deleted, so a stale index or shard never mixes in and a
    /// save that fails while writing leaves the previous checkpoint as it was.
    /// </summary>
    public static void Save(IHfCheckpointModel model, string directory, ScalarType? dtype = null, long maxShardBytes = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        Directory.CreateDirectory(directory);
        string staging = Path.Combine(directory, ".u2a-save-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(staging);
        try
        {
            var written = WriteCheckpoint(model, staging, dtype, maxShardBytes);
            // Weights first; then stale weight files go (a leftover single model.safetensors would be preferred over a new
            // index); then the index and config.json, so an interruption never pairs the new config with old weights.
            bool IsWeights(string f) => f.EndsWith(".safetensors", StringComparison.Ordinal);
            foreach (var file in written.Where(IsWeights))
                File.Move(Path.Combine(staging, file), Path.Combine(directory, file), overwrite: true);
            var keep = new HashSet<string>(written, StringComparer.Ordinal);
            foreach (var stale in Directory.GetFiles(directory, "model*.safetensors*"))
                if (!keep.Contains(Path.GetFileName(stale))) File.Delete(stale);
            foreach (var file in written.Where(f => !IsWeights(f)))
                File.Move(Path.Combine(staging, file), Path.Combine(directory, file), overwrite: true);
        }
        finally
        {
            // Best effort: a failure to clean up must not hide the exception that made the save fail.
            try { Directory.Delete(staging, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>Writes the checkpoint's files into <paramref name="directory"/> (empty); returns their names in the order
    /// they are to be moved into place.</summary>
    private static List<string> WriteCheckpoint(IHfCheckpointModel model, string directory, ScalarType? dtype, long maxShardBytes)
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
