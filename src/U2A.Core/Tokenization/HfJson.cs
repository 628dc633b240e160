using System.Text.Json;

namespace U2A.Core.Tokenization;

/// <summary>
/// A JSON value of a tokenizer file with its path, for reading untrusted files with errors that name the file and the
/// JSON path (<see cref="TokenizerFileException"/>).
/// </summary>
internal readonly struct HfJson(JsonElement element, string file, string path)
{
    public JsonElement Element { get; } = element;
    public string File { get; } = file;
    public string Path { get; } = path;

    public JsonValueKind Kind => Element.ValueKind;

    public bool IsNull => Element.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined;

    public TokenizerFileException Error(string message, Exception? inner = null) => new(File, Path, message, inner);

    /// <summary>Parses <paramref name="bytes"/> (at most <paramref name="maxBytes"/> long) as a JSON object.</summary>
    public static JsonDocument Parse(ReadOnlyMemory<byte> bytes, string file, long maxBytes)
    {
        if (bytes.Length > maxBytes) throw new TokenizerFileException(file, "$", $"the file is {bytes.Length:N0} bytes; at most {maxBytes:N0} are accepted.");
        try
        {
            var doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 64, CommentHandling = JsonCommentHandling.Disallow });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                var kind = doc.RootElement.ValueKind;
                doc.Dispose();
                throw new TokenizerFileException(file, "$", $"expected a JSON object, found {kind}.");
            }
            return doc;
        }
        catch (JsonException e)
        {
            throw new TokenizerFileException(file, e.Path ?? "$", $"not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}", e);
        }
    }

    /// <summary>Reads a file of at most <paramref name="maxBytes"/> bytes.</summary>
    public static byte[] ReadFile(string path, long maxBytes)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"{path} does not exist.", path);
        if (info.Length > maxBytes) throw new TokenizerFileException(path, "$", $"the file is {info.Length:N0} bytes; at most {maxBytes:N0} are accepted.");
        return System.IO.File.ReadAllBytes(path);
    }

    public HfJson Object()
    {
        if (Element.ValueKind != JsonValueKind.Object) throw Error($"expected an object, found {Describe()}.");
        return this;
    }

    /// <summary>The property <paramref name="name"/>, or null when absent or JSON null.</summary>
    public HfJson? Optional(string name)
    {
        Object();
        if (!Element.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return new HfJson(v, File, $"{Path}.{name}");
    }

    /// <summary>The property <paramref name="name"/>; throws when absent or null.</summary>
    public HfJson Required(string name) =>
        Optional(name) ?? throw new TokenizerFileException(File, $"{Path}.{name}", "is missing (or null) but required.");

    public string String()
    {
        if (Element.ValueKind != JsonValueKind.String) throw Error($"expected a string, found {Describe()}.");
        return Element.GetString()!;
    }

    public bool Bool()
    {
        if (Element.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) throw Error($"expected true or false, found {Describe()}.");
        return Element.GetBoolean();
    }

    public int Int(int min, int max)
    {
        if (Element.ValueKind != JsonValueKind.Number || !Element.TryGetInt64(out long v)) throw Error($"expected an integer, found {Describe()}.");
        if (v < min || v > max) throw Error($"{v} is outside [{min}, {max}].");
        return (int)v;
    }

    public double Number()
    {
        if (Element.ValueKind != JsonValueKind.Number) throw Error($"expected a number, found {Describe()}.");
        return Element.GetDouble();
    }

    public string? OptionalString(string name) => Optional(name)?.String();

    public bool OptionalBool(string name, bool fallback) => Optional(name)?.Bool() ?? fallback;

    public IEnumerable<HfJson> Items()
    {
        if (Element.ValueKind != JsonValueKind.Array) throw Error($"expected an array, found {Describe()}.");
        int i = 0;
        foreach (var item in Element.EnumerateArray()) yield return new HfJson(item, File, $"{Path}[{i++}]");
    }

    public int Count()
    {
        if (Element.ValueKind != JsonValueKind.Array) throw Error($"expected an array, found {Describe()}.");
        return Element.GetArrayLength();
    }

    public IEnumerable<(string Name, HfJson Value)> Properties()
    {
        Object();
        foreach (var p in Element.EnumerateObject()) yield return (p.Name, new HfJson(p.Value, File, $"{Path}[\"{p.Name}\"]"));
    }

    /// <summary>The component type: the <c>type</c> property as a string.</summary>
    public string Type() => Required("type").String();

    private string Describe() => Element.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => $"the number {Element.GetRawText()}",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
