using System.Text.Json;

namespace U2A.Core.Data;

/// <summary>
/// Reads Anthropic HH-RLHF JSONL (<c>{"chosen": str, "rejected": str}</c>, each a whole dialogue of
/// <c>"\n\nHuman: ..."</c> / <c>"\n\nAssistant: ..."</c> turns).
/// </summary>
/// <remarks>
/// The prompt is everything up to and including the final <c>"\n\nAssistant:"</c> marker; the response is the rest
/// (it keeps its leading space, so <c>prompt + response</c> is the original string). Chosen and rejected must share
/// the prompt. A response that is empty or whitespace only is a bad record (field <c>chosen</c> or <c>rejected</c>);
/// three of the first 1000 harmless-base test records have such a chosen response.
/// Use the plain prompt template with these records: the prompt already carries the dialogue format.
/// </remarks>
public static class HhRlhfReader
{
    /// <summary>The marker that opens an assistant turn.</summary>
    public const string AssistantMarker = "\n\nAssistant:";

    /// <summary>Reads preference pairs from an HH-RLHF JSONL file.</summary>
    public static DatasetReadResult<PreferencePair> Read(string path, DatasetReadOptions? options = null) =>
        JsonlReader.ReadFile<PreferencePair>(path, options, Parse);

    /// <summary>Reads preference pairs from HH-RLHF JSONL text; <paramref name="sourceName"/> names it in errors.</summary>
    public static DatasetReadResult<PreferencePair> Read(TextReader reader, string sourceName, DatasetReadOptions? options = null) =>
        JsonlReader.Read<PreferencePair>(reader, sourceName, options, Parse);

    /// <summary>Reads preference pairs of HH-RLHF JSONL from a stream of UTF-8 bytes (decoded strictly, unlike a caller's TextReader, which may have
    /// replaced bad bytes already); <paramref name="sourceName"/> names it in errors. The stream is read to its end and
    /// left open.</summary>
    public static DatasetReadResult<PreferencePair> Read(Stream utf8, string sourceName, DatasetReadOptions? options = null) =>
        JsonlReader.ReadStream<PreferencePair>(utf8, sourceName, options, Parse);

    /// <summary>Splits one dialogue at its final assistant marker; false when it has none.</summary>
    public static bool TrySplit(string dialogue, out string prompt, out string response)
    {
        int i = dialogue.LastIndexOf(AssistantMarker, StringComparison.Ordinal);
        if (i < 0) { prompt = response = ""; return false; }
        prompt = dialogue[..(i + AssistantMarker.Length)];
        response = dialogue[(i + AssistantMarker.Length)..];
        return true;
    }

    private static void Parse(JsonElement root, RecordFields ctx, List<PreferencePair> into)
    {
        string chosen = ctx.Text(root, "chosen");
        string rejected = ctx.Text(root, "rejected");
        if (!TrySplit(chosen, out var prompt, out var chosenResponse))
            throw ctx.Error("chosen", "has no \"\\n\\nAssistant:\" turn");
        if (!TrySplit(rejected, out var rejectedPrompt, out var rejectedResponse))
            throw ctx.Error("rejected", "has no \"\\n\\nAssistant:\" turn");
        if (!string.Equals(prompt, rejectedPrompt, StringComparison.Ordinal))
            throw ctx.Error("rejected", "does not share the dialogue of 'chosen' up to the final \"\\n\\nAssistant:\" marker");
        if (string.IsNullOrWhiteSpace(chosenResponse)) throw ctx.Error("chosen", "the final Assistant response is empty");
        if (string.IsNullOrWhiteSpace(rejectedResponse)) throw ctx.Error("rejected", "the final Assistant response is empty");
        into.Add(new PreferencePair(prompt, chosenResponse, rejectedResponse, ctx.Location));
    }
}
