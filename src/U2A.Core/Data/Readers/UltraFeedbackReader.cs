using System.Text.Json;

namespace U2A.Core.Data;

/// <summary>
/// Reads UltraFeedback-binarized JSONL (HuggingFaceH4/ultrafeedback_binarized): <c>prompt</c> (str), and
/// <c>chosen</c> / <c>rejected</c> as message lists <c>[{"content": str, "role": "user"}, {"content": str, "role": "assistant"}]</c>;
/// other fields (<c>prompt_id</c>, <c>messages</c>, <c>score_chosen</c>, <c>score_rejected</c>) are ignored.
/// </summary>
/// <remarks>
/// Single-turn only: each list must be one user message whose content equals <c>prompt</c>, then one assistant
/// message (the response). Anything else (more turns, other roles, a different user message) is a bad record,
/// never silently reshaped.
/// </remarks>
public static class UltraFeedbackReader
{
    /// <summary>Reads preference pairs from an UltraFeedback-binarized JSONL file.</summary>
    public static DatasetReadResult<PreferencePair> Read(string path, DatasetReadOptions? options = null) =>
        JsonlReader.ReadFile<PreferencePair>(path, options, Parse);

    /// <summary>Reads preference pairs from UltraFeedback-binarized JSONL text; <paramref name="sourceName"/> names it in errors.</summary>
    public static DatasetReadResult<PreferencePair> Read(TextReader reader, string sourceName, DatasetReadOptions? options = null) =>
        JsonlReader.Read<PreferencePair>(reader, sourceName, options, Parse);

    /// <summary>Reads preference pairs of UltraFeedback-binarized JSONL from a stream of UTF-8 bytes (decoded strictly, unlike a caller's TextReader, which may have
    /// replaced bad bytes already); <paramref name="sourceName"/> names it in errors. The stream is read to its end and
    /// left open.</summary>
    public static DatasetReadResult<PreferencePair> Read(Stream utf8, string sourceName, DatasetReadOptions? options = null) =>
        JsonlReader.ReadStream<PreferencePair>(utf8, sourceName, options, Parse);

    private static void Parse(JsonElement root, RecordFields ctx, List<PreferencePair> into)
    {
        var prompt = ctx.Text(root, "prompt");
        var chosen = Response(root, "chosen", prompt, ctx);
        var rejected = Response(root, "rejected", prompt, ctx);
        into.Add(new PreferencePair(prompt, chosen, rejected, ctx.Location));
    }

    private static string Response(JsonElement root, string name, string prompt, RecordFields ctx)
    {
        var list = ctx.Array(root, name);
        int n = list.GetArrayLength();
        if (n != 2) throw ctx.Error(name, $"must hold 2 messages (user, assistant), got {n} (multi-turn conversations are not supported)");
        for (int i = 0; i < 2; i++)
            if (list[i].ValueKind != JsonValueKind.Object) throw ctx.Error($"{name}[{i}]", $"must be an object {{content, role}}, got {RecordFields.Kind(list[i])}");
        var userRole = ctx.String(list[0], "role", $"{name}[0].role");
        if (userRole != "user") throw ctx.Error($"{name}[0].role", $"must be \"user\", got \"{userRole}\"");
        var user = ctx.String(list[0], "content", $"{name}[0].content");
        if (!string.Equals(user, prompt, StringComparison.Ordinal)) throw ctx.Error($"{name}[0].content", "differs from 'prompt'");
        var role = ctx.String(list[1], "role", $"{name}[1].role");
        if (role != "assistant") throw ctx.Error($"{name}[1].role", $"must be \"assistant\", got \"{role}\"");
        return ctx.Text(list[1], "content", $"{name}[1].content");
    }
}
