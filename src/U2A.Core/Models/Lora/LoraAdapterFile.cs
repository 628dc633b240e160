using System.Globalization;
using U2A.Core.Models.Checkpoints;
using static TorchSharp.torch;

namespace U2A.Core.Models.Lora;

/// <summary>
/// The safetensors layout of LoRA adapters: tensors <c>&lt;module path&gt;.lora_A.weight</c> [r, in] and
/// <c>&lt;module path&gt;.lora_B.weight</c> [out, r], and metadata <c>format</c> = <c>u2a-lora</c>, <c>r</c>,
/// <c>lora_alpha</c>, <c>lora_dropout</c>, <c>target_modules</c> (comma-separated) and <c>seed</c>.
/// </summary>
public static class LoraAdapterFile
{
    /// <summary>Value of the <c>format</c> metadata entry.</summary>
    public const string Format = "u2a-lora";

    /// <summary>Tensor name of an adapter's A.</summary>
    public static string NameOfA(string modulePath) => modulePath + ".lora_A.weight";

    /// <summary>Tensor name of an adapter's B.</summary>
    public static string NameOfB(string modulePath) => modulePath + ".lora_B.weight";

    /// <summary>Reads the adapter settings from a file's metadata (without loading tensors).</summary>
    /// <exception cref="InvalidDataException">The metadata is missing or malformed (the message names the entry).</exception>
    public static LoraOptions ReadOptions(string path)
    {
        var (entries, meta, _) = SafetensorsFile.ReadHeader(path);
        if (!meta.TryGetValue("format", out var format) || format != Format)
            throw new InvalidDataException($"{path}: metadata 'format' is '{format}', expected '{Format}' (not a U2A LoRA adapter file).");
        string Get(string key) => meta.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"{path}: metadata '{key}' is missing.");
        double Number(string key) => double.TryParse(Get(key), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d
            : throw new InvalidDataException($"{path}: metadata '{key}' = '{Get(key)}' is not a number.");
        int rank = int.TryParse(Get("r"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var r) ? r
            : throw new InvalidDataException($"{path}: metadata 'r' = '{Get("r")}' is not an integer.");
        var options = new LoraOptions
        {
            TargetModules = Get("target_modules").Split(',', StringSplitOptions.RemoveEmptyEntries),
            Rank = rank,
            Alpha = Number("lora_alpha"),
            Dropout = Number("lora_dropout"),
            Seed = meta.TryGetValue("seed", out var s) && long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed) ? seed : 0,
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{path}: metadata gives invalid options: {e.Message}", e);
        }
        // The adapters built from these options are allocated before the tensors are compared with them: a rank the
        // file's own tensors do not hold could ask for any amount of memory, so it is checked here. With every dimension
        // at least 1, r is bounded by the file's size.
        int adapters = 0;
        foreach (var e in entries)
        {
            bool isA = e.Name.EndsWith(".lora_A.weight", StringComparison.Ordinal), isB = e.Name.EndsWith(".lora_B.weight", StringComparison.Ordinal);
            if (isA) adapters++;
            if ((isA || isB) && (e.Shape.Length != 2 || e.Shape[isA ? 0 : 1] != rank || e.Shape.Contains(0L)))
                throw new InvalidDataException($"{path}: tensor '{e.Name}' has shape [{string.Join(", ", e.Shape)}], which does not fit metadata 'r' = {rank} " +
                    $"(lora_A is [r, in], lora_B is [out, r], no dimension 0).");
        }
        if (adapters == 0) throw new InvalidDataException($"{path}: holds no adapter (no tensor named '<module path>.lora_A.weight').");
        return options;
    }

    internal static void Save(string path, LoraModel model)
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var a in model.Adapters)
        {
            tensors[NameOfA(a.Path)] = a.A;
            tensors[NameOfB(a.Path)] = a.B;
        }
        var o = model.Options;
        var meta = new Dictionary<string, string>
        {
            ["format"] = Format,
            ["r"] = o.Rank.ToString(CultureInfo.InvariantCulture),
            ["lora_alpha"] = o.Alpha.ToString("R", CultureInfo.InvariantCulture),
            ["lora_dropout"] = o.Dropout.ToString("R", CultureInfo.InvariantCulture),
            ["target_modules"] = string.Join(",", o.TargetModules),
            ["seed"] = o.Seed.ToString(CultureInfo.InvariantCulture),
        };
        SafetensorsFile.Save(path, tensors, meta);
    }

    internal static void Load(string path, LoraModel model)
    {
        var (entries, meta, _) = SafetensorsFile.ReadHeader(path);
        if (meta.TryGetValue("format", out var format) && format != Format)
            throw new InvalidDataException($"{path}: metadata 'format' is '{format}', expected '{Format}'.");
        var o = model.Options;
        if (meta.TryGetValue("r", out var r) && r != o.Rank.ToString(CultureInfo.InvariantCulture))
            throw new InvalidDataException($"{path}: adapter rank r = {r}, but LoraOptions.{nameof(LoraOptions.Rank)} of this model is {o.Rank}.");
        if (meta.TryGetValue("lora_alpha", out var alpha)
            && (!double.TryParse(alpha, NumberStyles.Float, CultureInfo.InvariantCulture, out var a) || a != o.Alpha))
            throw new InvalidDataException($"{path}: adapter lora_alpha = {alpha}, but LoraOptions.{nameof(LoraOptions.Alpha)} of this model is {o.Alpha} (the scale alpha / r would differ).");

        var expected = new Dictionary<string, (Tensor Target, long[] Shape)>(StringComparer.Ordinal);
        foreach (var ad in model.Adapters)
        {
            expected[NameOfA(ad.Path)] = (ad.A, ad.A.shape);
            expected[NameOfB(ad.Path)] = (ad.B, ad.B.shape);
        }
        var present = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        var missing = expected.Keys.Where(k => !present.ContainsKey(k)).ToList();
        var unexpected = present.Keys.Where(k => !expected.ContainsKey(k)).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
            throw new InvalidDataException($"{path}: adapter names do not match this model: missing [{List(missing)}], unexpected [{List(unexpected)}].");
        foreach (var (name, (_, shape)) in expected)
        {
            var e = present[name];
            if (!e.Shape.SequenceEqual(shape))
                throw new InvalidDataException($"{path}: tensor '{name}' has shape [{string.Join(", ", e.Shape)}], this model needs [{string.Join(", ", shape)}].");
            if (e.DType is not ("F64" or "F32" or "F16" or "BF16"))
                throw new InvalidDataException($"{path}: tensor '{name}' has dtype {e.DType}; adapters must be floating point.");
        }

        var loaded = SafetensorsFile.Load(path, model.Device, model.DType);
        try
        {
            using var noGrad = no_grad();
            foreach (var (name, (target, _)) in expected) target.copy_(loaded[name]);
        }
        finally
        {
            foreach (var t in loaded.Values) t.Dispose();
        }
    }

    private static string List(List<string> names) => names.Count == 0 ? "" : string.Join(", ", names.Take(5)) + (names.Count > 5 ? $", ... ({names.Count} in all)" : "");
}
