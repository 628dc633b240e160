using System.Text.Json;

namespace U2A.Core.Data;

/// <summary>
/// Reads the generic JSONL layouts: <c>{"prompt": str, "chosen": str, "rejected": str}</c> for preference pairs and
/// <c>{"prompt": str, "response": str}</c> for negative or retain examples. Other fields are ignored.
/// The strings are used as they are: the prompt template adds any chat formatting.
/// </summary>
public static class GenericJsonlReader
{
    /// <summary>Reads <c>{prompt, chosen, rejected}</c> records.</summary>
    public static DatasetReadResult<PreferencePair> ReadPairs(string path, DatasetReadOptions? options = null) =>
        JsonlReader.ReadFile<PreferencePair>(path, options, ParsePair);

    /// <summary>Reads <c>{prompt, chosen, rejected}</c> records from text; <paramref name="sourceName"/> names it in errors.</summary>
    public static DatasetReadResult<PreferencePair> ReadPairs(TextReader reader, string sourceName, DatasetReadOptions? options = null) =>
        JsonlReader.Read<PreferencePair>(reader, sourceName, options, ParsePair);

    /// <summary>Reads <c>{prompt, chosen, rejected}</c> records from a stream of UTF-8 bytes (decoded strictly, unlike a caller's TextReader, which may have
    /// replaced bad bytes already); <paramref name="sourceName"/> names it in errors. The stream is read to its end and
    /// left open.</summary>
    public static DatasetReadResult<PreferencePair> ReadPairs(Stream utf8, string sourceName, DatasetReadOptions? options = null) =>
        JsonlReader.ReadStream<PreferencePair>(utf8, sourceName, options, ParsePair);

    /// <summary>Reads <c>{prompt, response}</c> records as negative examples (responses to unlearn).</summary>
    public static DatasetReadResult<NegativeExample> ReadNegatives(string path, DatasetReadOptions? options = null) =>
        JsonlReader.ReadFile<NegativeExample>(path, options, (r, c, into) => { var (p, s) = ParseExample(r, c); into.Add(new(p, s, c.Location)); });

    /// <summary>Reads <c>{prompt, response}</c> records from text as negative examples.</summary>
    public static DatasetReadResult<NegativeExample> ReadNegatives(TextReader reader, string sourceName, DatasetReadOptions? options = null) =>
        JsonlReader.Read<NegativeExample>(reader, sourceName, options, (r, c, into) => { var (p, s) = ParseExample(r, c); into.Add(new(p, s, c.Location)); });

    /// <summary>Reads <c>{prompt, response}</c> records as negative examples from a stream of UTF-8 bytes (decoded strictly, unlike a caller's TextReader, which may have
    /// replaced bad bytes already); <paramref name="sourceName"/> names it in errors. The stream is read to its end and
    /// left open.</summary>
    public static DatasetReadResult<NegativeExample> ReadNegatives(Stream utf8, string sourceName, DatasetReadOptions? options = null) =>
        JsonlReader.ReadStream<NegativeExample>(utf8, sourceName, options, (r, c, into) => { var (p, s) = ParseExample(r, c); into.Add(new(p, s, c.Location)); });

    /// <summary>Reads <c>{prompt, response}</c> records as retain examples (responses to keep).</summary>
    public static DatasetReadResult<RetainExample> ReadRetain(string path, DatasetReadOptions? options = null) =>
        JsonlReader.ReadFile<RetainExample>(path, options, (r, c, into) => { var (p, s) = ParseExample(r, c); into.Add(new(p, s, c.Location)); });

    /// <summary>Reads <c>{prompt, response}</c> records from text as retain examples.</summary>
    public static DatasetReadResult<RetainExample> ReadRetain(TextReader reader, string sourceName, DatasetReadOptions? options = null) =>
        JsonlReader.Read<RetainExample>(reader, sourceName, options, (r, c, into) => { var (p, s) = ParseExample(r, c); into.Add(new(p, s, c.Location)); });

    /// <summary>Reads <c>{prompt, response}</c> records as retain examples from a stream of UTF-8 bytes (decoded strictly, unlike a caller's TextReader, which may have
    /// replaced bad bytes already); <paramref name="sourceName"/> names it in errors. The stream is read to its end and
    /// left open.</summary>
    public static DatasetReadResult<RetainExample> ReadRetain(Stream utf8, string sourceName, DatasetReadOptions? options = null) =>
        JsonlReader.ReadStream<RetainExample>(utf8, sourceName, options, (r, c, into) => { var (p, s) = ParseExample(r, c); into.Add(new(p, s, c.Location)); });

    private static void ParsePair(JsonElement root, RecordFields ctx, List<PreferencePair> into) =>
        into.Add(new PreferencePair(ctx.Text(root, "prompt"), ctx.Text(root, "chosen"), ctx.Text(root, "rejected"), ctx.Location));

    private static (string Prompt, string Response) ParseExample(JsonElement root, RecordFields ctx) =>
        (ctx.Text(root, "prompt"), ctx.Text(root, "response"));
}
