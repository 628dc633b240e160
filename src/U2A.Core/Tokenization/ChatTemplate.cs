using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace U2A.Core.Tokenization;

/// <summary>
/// Reads a model's chat template (tokenizer_config.json's <c>chat_template</c>) and returns the
/// <see cref="ChatFormat"/> that renders it natively. No Jinja is interpreted: a template is recognised by its
/// canonical form (<see cref="CanonicalHash"/>: the template after Jinja's whitespace handling, with the layout of its
/// tags, quote style and <c>x['key']</c>/<c>x.key</c> spelling normalised), so a reformatted copy of a known template is
/// recognised and any change to what it outputs is not. Unknown templates are refused with a message naming the file and
/// how to supply the format.
/// </summary>
public static class ChatTemplate
{
    /// <summary>The canonical hashes of the templates rendered natively, and how to build their format.</summary>
    private static readonly Dictionary<string, (string Family, Func<string?, ChatFormat> Build)> Known = new(StringComparer.Ordinal)
    {
        // Qwen3 (Qwen/Qwen3-*, tokenizer_config.json of the dense and MoE models, as in shared/data/tokenizers/qwen3).
        ["e5156abff263b6ee4be0c64a2cf1440c436ff68faee4fb546855ec654b27f475"] = ("Qwen3", _ => ChatFormat.Qwen3),
        // Llama 3 header format without a system preamble (Meta-Llama-3-*-Instruct; the shared Llama 3.1 config).
        ["851038492cf80a763642cfdf33d21bebafcd03583308c8573cfd207a43e078e3"] = ("Llama 3", bos => ChatFormat.Llama3(bos ?? "<|begin_of_text|>")),
    };

    /// <summary>
    /// The format of the chat template in <paramref name="path"/>: a tokenizer_config.json, or a model folder holding one
    /// (a <c>chat_template.jinja</c> or <c>chat_template.json</c> beside it is read when the config has no template).
    /// </summary>
    /// <param name="path">The tokenizer_config.json or its folder.</param>
    /// <param name="templateName">For a config with several named templates, the one to use (default: "default").</param>
    /// <exception cref="FileNotFoundException">No tokenizer_config.json.</exception>
    /// <exception cref="InvalidDataException">No chat template, a malformed one, or one not rendered natively (the message says how to supply a format).</exception>
    public static ChatFormat Load(string path, string? templateName = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string configPath = Directory.Exists(path) ? Path.Combine(path, "tokenizer_config.json") : path;
        if (!File.Exists(configPath)) throw new FileNotFoundException($"no tokenizer_config.json at {configPath}.", configPath);
        string dir = Path.GetDirectoryName(Path.GetFullPath(configPath))!;
        using var config = ParseJson(configPath);
        var root = config.RootElement;
        string? bos = SpecialToken(root, "bos_token", configPath);

        string source = configPath;
        JsonElement template = root.TryGetProperty("chat_template", out var t) ? t : default;
        JsonDocument? side = null;
        try
        {
            if (template.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            {
                string jinja = Path.Combine(dir, "chat_template.jinja"), json = Path.Combine(dir, "chat_template.json");
                if (File.Exists(jinja)) return Recognize(File.ReadAllText(jinja), bos, jinja);
                if (File.Exists(json))
                {
                    side = ParseJson(json);
                    source = json;
                    template = side.RootElement.TryGetProperty("chat_template", out var s) ? s : default;
                }
                if (template.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
                    throw new InvalidDataException($"{configPath}: no chat_template (nor chat_template.jinja / chat_template.json beside it). " + HowToSupply);
            }
            return Recognize(Select(template, templateName, source), bos, source + (templateName is null ? "" : $" (template '{templateName}')"));
        }
        finally { side?.Dispose(); }
    }

    /// <summary>
    /// The format of a chat template's text; <paramref name="bosText"/> is the config's <c>bos_token</c> (used by
    /// templates that write it) and <paramref name="sourceName"/> names the template in errors.
    /// </summary>
    /// <exception cref="InvalidDataException">The template is not one rendered natively.</exception>
    public static ChatFormat Recognize(string template, string? bosText, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(template);
        string hash;
        try { hash = CanonicalHash(template); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{sourceName}: {e.Message} " + HowToSupply, e); }
        if (Known.TryGetValue(hash, out var known)) return known.Build(bosText);
        throw new InvalidDataException(
            $"{sourceName}: the chat_template is not one this library renders natively ({Family(template)}; canonical hash {hash}). " +
            "Natively rendered: Qwen3 (ChatML with think blocks) and the Llama 3 header format. " + HowToSupply);
    }

    private const string HowToSupply =
        "Supply the format yourself: a built-in ChatFormat (ChatFormat.ChatMl, ChatFormat.Llama3(bos), ChatFormat.Qwen3, " +
        "ChatFormat.HumanAssistant), a TurnChatFormat built from a ChatTurnFormat (prefix, suffix) per role, or a ChatFormat " +
        "subclass, given to ChatEncoder or PromptResponseEncoder; or a PromptTemplate for single-turn prompts. Check a custom " +
        "format against transformers' apply_chat_template on a few conversations.";

    /// <summary>What the template looks like, by its structural markers (for the error message).</summary>
    private static string Family(string template) =>
        template.Contains("<|im_start|>", StringComparison.Ordinal) ? "it looks like ChatML (<|im_start|>), but is not a known variant: check whether ChatFormat.ChatMl or ChatFormat.Qwen3 renders it identically"
        : template.Contains("<|start_header_id|>", StringComparison.Ordinal) ? "it looks like the Llama 3 header format (<|start_header_id|>), but is not a known variant (a system preamble, tools or a date?): check whether ChatFormat.Llama3(bos) renders it identically"
        : template.Contains("[INST]", StringComparison.Ordinal) ? "it looks like the Llama 2 / Mistral [INST] format"
        : template.Contains("<start_of_turn>", StringComparison.Ordinal) ? "it looks like the Gemma format (<start_of_turn>)"
        : "its family is not recognised";

    /// <summary>
    /// A SHA-256 (hex) of the template's canonical form: line ends as LF; the whitespace handling Hugging Face applies
    /// (one trailing newline dropped, <c>trim_blocks</c>, <c>lstrip_blocks</c>, <c>{%-</c>/<c>-%}</c> trimming, comments
    /// removed); inside tags, whitespace kept only between two word characters, string literals re-quoted, and
    /// <c>x['key']</c> written <c>x.key</c>. Two templates with the same hash render the same.
    /// </summary>
    public static string CanonicalHash(string template)
    {
        ArgumentNullException.ThrowIfNull(template);
        var canonical = Canonicalize(template);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    internal static string Canonicalize(string template)
    {
        string src = template.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        if (src.EndsWith('\n')) src = src[..^1];
        src = System.Text.RegularExpressions.Regex.Replace(src, @"^[ \t]*(\{[#%-])", "$1", System.Text.RegularExpressions.RegexOptions.Multiline);
        src = System.Text.RegularExpressions.Regex.Replace(src, @"([#%-]\})\n", "$1");

        var parts = new List<(char Kind, string Body)>(); // 'T' text, '{' expression, '%' statement
        bool trimNext = false;
        int i = 0;
        while (i < src.Length)
        {
            int open = NextTag(src, i);
            string text = src[i..(open < 0 ? src.Length : open)];
            if (trimNext) text = text.TrimStart();
            trimNext = false;
            if (open < 0) { AddText(parts, text); break; }
            char kind = src[open + 1];
            int bodyStart = open + 2;
            if (bodyStart < src.Length && src[bodyStart] == '-') { text = text.TrimEnd(); bodyStart++; }
            AddText(parts, text);
            string close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
            int end = kind == '#' ? src.IndexOf(close, bodyStart, StringComparison.Ordinal) : FindClose(src, bodyStart, close);
            if (end < 0) throw new InvalidDataException($"the chat_template has an unclosed '{{{kind}' tag at character {open}.");
            int bodyEnd = end;
            if (bodyEnd > bodyStart && src[bodyEnd - 1] == '-') { bodyEnd--; trimNext = true; }
            if (kind != '#') parts.Add((kind, CanonicalTag(src[bodyStart..bodyEnd])));
            i = end + 2;
        }
        var sb = new StringBuilder();
        foreach (var (kind, body) in parts) sb.Append(kind).Append(JsonSerializer.Serialize(body)).Append('\n');
        return sb.ToString();
    }

    private static int NextTag(string s, int from)
    {
        for (int k = from; k + 1 < s.Length; k++)
            if (s[k] == '{' && s[k + 1] is '{' or '%' or '#') return k;
        return -1;
    }

    private static int FindClose(string s, int from, string close)
    {
        for (int k = from; k + 1 < s.Length; k++)
        {
            if (s[k] is '\'' or '"') { k = SkipString(s, k) - 1; continue; }
            if (s[k] == close[0] && s[k + 1] == close[1]) return k;
        }
        return -1;
    }

    /// <summary>The index after the string literal starting at <paramref name="k"/>.</summary>
    private static int SkipString(string s, int k)
    {
        char q = s[k];
        for (int j = k + 1; j < s.Length; j++)
        {
            if (s[j] == '\\') { j++; continue; }
            if (s[j] == q) return j + 1;
        }
        throw new InvalidDataException($"the chat_template has an unclosed string literal at character {k}.");
    }

    private static void AddText(List<(char, string)> parts, string text)
    {
        if (text.Length == 0) return;
        if (parts.Count > 0 && parts[^1].Item1 == 'T') parts[^1] = ('T', parts[^1].Item2 + text);
        else parts.Add(('T', text));
    }

    private static string CanonicalTag(string body)
    {
        var sb = new StringBuilder();
        bool pendingSpace = false;
        for (int k = 0; k < body.Length; k++)
        {
            char c = body[k];
            if (char.IsWhiteSpace(c)) { pendingSpace = true; continue; }
            if (c is '\'' or '"')
            {
                int end = SkipString(body, k);
                string value = Unescape(body[(k + 1)..(end - 1)]);
                // x['key'] -> x.key
                if (sb.Length > 0 && sb[^1] == '[' && end < body.Length && body[end] == ']' && IsIdentifier(value))
                {
                    sb.Length--;
                    sb.Append('.').Append(value);
                    k = end;
                }
                else
                {
                    sb.Append(JsonSerializer.Serialize(value));
                    k = end - 1;
                }
                pendingSpace = false;
                continue;
            }
            if (pendingSpace && sb.Length > 0 && IsWord(sb[^1]) && IsWord(c)) sb.Append(' ');
            pendingSpace = false;
            sb.Append(c);
        }
        return sb.ToString();
    }

    private static bool IsWord(char c) => char.IsLetterOrDigit(c) || c == '_';

    private static bool IsIdentifier(string s) => s.Length > 0 && (char.IsLetter(s[0]) || s[0] == '_') && s.All(IsWord);

    private static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new StringBuilder();
        for (int k = 0; k < s.Length; k++)
        {
            if (s[k] != '\\' || k + 1 == s.Length) { sb.Append(s[k]); continue; }
            char e = s[++k];
            sb.Append(e switch { 'n' => '\n', 't' => '\t', 'r' => '\r', 'b' => '\b', 'f' => '\f', 'v' => '\v', _ => e });
        }
        return sb.ToString();
    }

    private static JsonDocument ParseJson(string path)
    {
        try { return JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message}).", e); }
    }

    /// <summary>A special token field: a string, an AddedToken object <c>{"content": ...}</c>, or null.</summary>
    private static string? SpecialToken(JsonElement root, string field, string path)
    {
        if (!root.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind == JsonValueKind.String) return v.GetString();
        if (v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String) return c.GetString();
        throw new InvalidDataException($"{path}: field '{field}' is neither a string nor an object with a string 'content'.");
    }

    /// <summary>The template text: a string, or the named entry of a list of <c>{"name", "template"}</c>.</summary>
    private static string Select(JsonElement template, string? name, string path)
    {
        if (template.ValueKind == JsonValueKind.String)
        {
            if (name is not null && name != "default")
                throw new InvalidDataException($"{path}: chat_template is a single template, so there is no template named '{name}'.");
            return template.GetString()!;
        }
        if (template.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{path}: field 'chat_template' is neither a string nor a list of {{\"name\", \"template\"}}.");
        var names = new List<string>();
        string wanted = name ?? "default";
        foreach (var entry in template.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("name", out var n) || n.ValueKind != JsonValueKind.String
                || !entry.TryGetProperty("template", out var body) || body.ValueKind != JsonValueKind.String)
                throw new InvalidDataException($"{path}: an entry of 'chat_template' is not {{\"name\": string, \"template\": string}}.");
            if (n.GetString() == wanted) return body.GetString()!;
            names.Add(n.GetString()!);
        }
        throw new InvalidDataException($"{path}: 'chat_template' has no template named '{wanted}' (it has: {string.Join(", ", names)}); pass templateName.");
    }
}
