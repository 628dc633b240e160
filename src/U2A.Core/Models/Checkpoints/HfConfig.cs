using System.Text.Json;
using System.Text.Json.Nodes;
using U2A.Core.Models.Gpt2;
using U2A.Core.Models.Llama;

namespace U2A.Core.Models.Checkpoints;

/// <summary>
/// Reads and writes Hugging Face <c>config.json</c> files. Every error names the file and the field.
/// </summary>
public static class HfConfig
{
    /// <summary>The file name of a Hugging Face model configuration.</summary>
    public const string FileName = "config.json";

    /// <summary>Reads <paramref name="path"/> (a <c>config.json</c> file, or a directory holding one) and returns a
    /// <see cref="Gpt2Config"/> (model_type gpt2) or a <see cref="LlamaConfig"/> (llama, qwen2).</summary>
    public static IHfModelConfig Read(string path)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, FileName);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: model configuration not found.", path);
        return Parse(ReadJsonObject(path), path);
    }

    /// <summary>
    /// Reads a JSON object from <paramref name="path"/>, strictly: a duplicate key, a string that is not valid text (an
    /// unpaired surrogate escape) or a root that is not an object is an <see cref="InvalidDataException"/> naming the file
    /// and the key (JsonNode would otherwise throw ArgumentException or InvalidOperationException later, at first use).
    /// </summary>
    internal static JsonObject ReadJsonObject(string path)
    {
        string text = File.ReadAllText(path);
        try
        {
            using (var document = JsonDocument.Parse(text))
                CheckStrings(document.RootElement, "$", path);
            return JsonNode.Parse(text) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON: {e.Message}", e);
        }
    }

    private static void CheckStrings(JsonElement element, string where, string path)
    {
        try
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    _ = element.GetString();
                    break;
                case JsonValueKind.Array:
                    int i = 0;
                    foreach (var item in element.EnumerateArray()) CheckStrings(item, $"{where}[{i++}]", path);
                    break;
                case JsonValueKind.Object:
                    int k = 0;
                    var names = new HashSet<string>(StringComparer.Ordinal);
                    foreach (var property in element.EnumerateObject())
                    {
                        k++;
                        string name;
                        try
                        {
                            name = property.Name;
                        }
                        catch (InvalidOperationException e)
                        {
                            throw new InvalidDataException($"{path}: key number {k} of {where} is not valid text: {e.Message}", e);
                        }
                        if (!names.Add(name)) throw new InvalidDataException($"{path}: key '{name}' appears twice in {where}.");
                        CheckStrings(property.Value, $"{where}.{name}", path);
                    }
                    break;
            }
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidDataException($"{path}: field '{where}' is not valid text: {e.Message}", e);
        }
    }

    /// <summary>Builds the configuration from a parsed <c>config.json</c>; <paramref name="source"/> names it in errors.</summary>
    public static IHfModelConfig Parse(JsonObject json, string source)
    {
        string modelType = RequiredString(json, "model_type", source);
        return modelType switch
        {
            "gpt2" => Gpt2Config.FromHfJson(json, source),
            "llama" or "qwen2" => LlamaConfig.FromHfJson(json, source),
            _ => throw new NotSupportedException($"{source}: field 'model_type' is '{modelType}'; supported: gpt2, llama, qwen2."),
        };
    }

    /// <summary>Writes <paramref name="config"/> as <c>config.json</c> to <paramref name="path"/> (a file path or a directory).</summary>
    public static void Write(IHfModelConfig config, string path)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, FileName);
        File.WriteAllText(path, config.ToHfJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    internal static string RequiredString(JsonObject json, string field, string source) =>
        OptionalString(json, field, source) ?? throw new InvalidDataException($"{source}: required field '{field}' is missing.");

    internal static string? OptionalString(JsonObject json, string field, string source)
    {
        if (!json.TryGetPropertyValue(field, out var node) || node is null) return null;
        if (node is JsonValue v && v.TryGetValue<string>(out var s)) return s;
        throw new InvalidDataException($"{source}: field '{field}' must be a string, got {node.ToJsonString()}.");
    }

    internal static int RequiredInt(JsonObject json, string field, string source, int min = 1) =>
        OptionalInt(json, field, source, min) ?? throw new InvalidDataException($"{source}: required field '{field}' is missing.");

    internal static int? OptionalInt(JsonObject json, string field, string source, int min = 1)
    {
        if (!json.TryGetPropertyValue(field, out var node) || node is null) return null;
        double value = node is JsonValue v && TryNumber(v, out var d) ? d : double.NaN;
        if (double.IsNaN(value) || value != Math.Floor(value) || value < min || value > int.MaxValue)
            throw new InvalidDataException($"{source}: field '{field}' must be an integer >= {min}, got {node.ToJsonString()}.");
        return (int)value;
    }

    internal static double? OptionalDouble(JsonObject json, string field, string source, bool positive = true)
    {
        if (!json.TryGetPropertyValue(field, out var node) || node is null) return null;
        if (node is JsonValue v && TryNumber(v, out var d) && double.IsFinite(d) && (!positive || d > 0)) return d;
        throw new InvalidDataException($"{source}: field '{field}' must be a {(positive ? "positive " : "")}number, got {node.ToJsonString()}.");
    }

    internal static bool? OptionalBool(JsonObject json, string field, string source)
    {
        if (!json.TryGetPropertyValue(field, out var node) || node is null) return null;
        if (node is JsonValue v && v.TryGetValue<bool>(out var b)) return b;
        throw new InvalidDataException($"{source}: field '{field}' must be true or false, got {node.ToJsonString()}.");
    }

    /// <summary>A JSON number as a double, whether the node came from parsed text or from a .NET value (an int set in code,
    /// whose <c>TryGetValue&lt;double&gt;</c> is false).</summary>
    private static bool TryNumber(JsonValue v, out double value)
    {
        value = double.NaN;
        return v.GetValueKind() == System.Text.Json.JsonValueKind.Number
            && double.TryParse(v.ToJsonString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out value);
    }
}
