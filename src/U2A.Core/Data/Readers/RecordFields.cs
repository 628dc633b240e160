using System.Text.Json;

namespace U2A.Core.Data;

/// <summary>The location of the record being parsed, with typed field accessors that throw <see cref="DatasetFormatException"/>.</summary>
internal readonly struct RecordFields(string file, int line, DatasetReadOptions options)
{
    public string File => file;
    public int Line => line;
    public SourceLocation Location => new(file, line);

    public DatasetFormatException Error(string? field, string reason) => new(file, line, field, reason);

    /// <summary>A required member of <paramref name="obj"/> (which must be an object).</summary>
    public JsonElement Member(JsonElement obj, string name, string? display = null)
    {
        if (!obj.TryGetProperty(name, out var value)) throw Error(display ?? name, "is missing");
        return value;
    }

    /// <summary>A required, non-empty text field (prompt or response), checked against the length limit.</summary>
    public string Text(JsonElement obj, string name, string? display = null) => CheckText(Member(obj, name, display), display ?? name);

    /// <summary>Checks that <paramref name="value"/> is a non-empty string within the length limit.</summary>
    public string CheckText(JsonElement value, string field)
    {
        if (value.ValueKind != JsonValueKind.String) throw Error(field, $"must be a string, got {Kind(value)}");
        return CheckText(GetString(value, field), field);
    }

    /// <summary>Checks that <paramref name="s"/> is not empty or whitespace only, and within the length limit.</summary>
    public string CheckText(string s, string field)
    {
        if (string.IsNullOrWhiteSpace(s)) throw Error(field, s.Length == 0 ? "is empty" : "is empty (whitespace only)");
        if (options.MaxFieldLength is int max && s.Length > max)
            throw Error(field, $"has {s.Length} characters, over the limit of {max} (DatasetReadOptions.MaxFieldLength)");
        return s;
    }

    /// <summary>A required string field that may be anything (e.g. a role name).</summary>
    public string String(JsonElement obj, string name, string? display = null)
    {
        var v = Member(obj, name, display);
        if (v.ValueKind != JsonValueKind.String) throw Error(display ?? name, $"must be a string, got {Kind(v)}");
        return GetString(v, display ?? name);
    }

    /// <summary>The text of a JSON string. The record was checked before parsing (JsonRecordCheck), so the text is valid
    /// Unicode; should a string still fail to decode, the error names the field instead of escaping as another type.</summary>
    private string GetString(JsonElement value, string field)
    {
        try { return value.GetString()!; }
        catch (InvalidOperationException e) { throw new DatasetFormatException(file, line, field, $"is not valid Unicode text: {e.Message}", e); }
    }

    /// <summary>A required JSON boolean (true/false, not a string).</summary>
    public bool Bool(JsonElement obj, string name)
    {
        var v = Member(obj, name);
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error(name, $"must be a boolean (true or false), got {Kind(v)}"),
        };
    }

    /// <summary>A required integer field that must be 0 or 1.</summary>
    public int ZeroOrOne(JsonElement obj, string name)
    {
        var v = Member(obj, name);
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int i)) throw Error(name, $"must be the integer 0 or 1, got {Kind(v)}");
        if (i is not (0 or 1)) throw Error(name, $"must be 0 or 1, got {i}");
        return i;
    }

    /// <summary>A required JSON array.</summary>
    public JsonElement Array(JsonElement obj, string name)
    {
        var v = Member(obj, name);
        if (v.ValueKind != JsonValueKind.Array) throw Error(name, $"must be an array, got {Kind(v)}");
        return v;
    }

    public static string Kind(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => v.ValueKind.ToString(),
    };
}
