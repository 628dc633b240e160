using System.Text.Json;

namespace U2A.Core.Data;

/// <summary>
/// Reads JSON Lines: one object per line, strict UTF-8; every line (blank ones included) must be a record. Lines end
/// at LF or CRLF; a UTF-8 byte order mark at the start is allowed. Per line, in this order: the length limit
/// (<see cref="DatasetReadOptions.MaxLineBytes"/>), the encoding (invalid UTF-8, lone surrogates, NUL), then the JSON
/// (well-formed, no repeated key at any depth, no lone surrogate escape), then the reader's own fields. Each problem is
/// one bad record at that line, so <see cref="BadRecordPolicy.Skip"/> counts it and goes on with the next line.
/// </summary>
internal static class JsonlReader
{
    public delegate void Parser<T>(JsonElement root, RecordFields ctx, List<T> into);

    public static DatasetReadResult<T> ReadFile<T>(string path, DatasetReadOptions? options, Parser<T> parse)
    {
        ArgumentNullException.ThrowIfNull(path);
        options = (options ?? DatasetReadOptions.Default).Validate(); // before opening the file
        using var stream = File.OpenRead(path); // disposed even when the source refuses the file (a UTF-16 byte order mark)
        var source = new StreamLineSource(stream, path, options.MaxLineBytes);
        return ReadValidated(source, path, options, parse);
    }

    public static DatasetReadResult<T> ReadStream<T>(Stream utf8, string sourceName, DatasetReadOptions? options, Parser<T> parse)
    {
        ArgumentNullException.ThrowIfNull(utf8);
        ArgumentNullException.ThrowIfNull(sourceName);
        options = (options ?? DatasetReadOptions.Default).Validate();
        var source = new StreamLineSource(utf8, sourceName, options.MaxLineBytes);
        return ReadValidated(source, sourceName, options, parse);
    }

    public static DatasetReadResult<T> Read<T>(TextReader reader, string sourceName, DatasetReadOptions? options, Parser<T> parse)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(sourceName);
        options = (options ?? DatasetReadOptions.Default).Validate();
        var source = new TextLineSource(reader, options.MaxLineBytes);
        return ReadValidated(source, sourceName, options, parse);
    }

    private static DatasetReadResult<T> ReadValidated<T>(LineSource source, string sourceName, DatasetReadOptions options, Parser<T> parse)
    {
        var skips = new SkipLog(sourceName, options);
        var records = new List<T>();
        var lineRecords = new List<T>();
        int lineNo = 0;
        while (source.Next())
        {
            lineNo++;
            var ctx = new RecordFields(sourceName, lineNo, options);
            lineRecords.Clear();
            try
            {
                ParseLine(source, ctx, parse, lineRecords);
            }
            catch (DatasetFormatException ex)
            {
                skips.Handle(ex);
                continue;
            }
            records.AddRange(lineRecords);
        }
        skips.Finish(records.Count);
        return new DatasetReadResult<T>(records, skips.Skipped.ToArray());
    }

    private static void ParseLine<T>(LineSource source, RecordFields ctx, Parser<T> parse, List<T> into)
    {
        if (source.TooLong)
            throw ctx.Error(null, $"the line is {source.Length} bytes, over the limit of {source.MaxLineBytes} (DatasetReadOptions.MaxLineBytes); " +
                                  "it was not parsed (raise the limit if such records are expected)");
        var bytes = source.Utf8;
        if (IsBlank(bytes.Span)) throw ctx.Error(null, "blank line (every line of a JSONL file must be one JSON object)");
        if (source.EncodingError is var (offset, reason))
            throw ctx.Error(JsonRecordCheck.Locate(bytes.Span, offset, ctx), reason);
        int nul = bytes.Span.IndexOf((byte)0);
        if (nul >= 0)
            throw ctx.Error(JsonRecordCheck.Locate(bytes.Span, nul, ctx), TextEncodingCheck.DescribeNul($"byte {nul + 1}"));
        if (bytes.Span.StartsWith(TextEncodingCheck.Utf8Bom))
            throw ctx.Error(null, "the line starts with a UTF-8 byte order mark, which only the first line of a file may have (were files concatenated?)");
        try
        {
            JsonRecordCheck.Check(bytes.Span, ctx);
        }
        catch (DatasetFormatException e) when (e.InnerException is JsonException && bytes.Span.IndexOf((byte)'\r') >= 0)
        {
            throw new DatasetFormatException(ctx.File, ctx.Line, null,
                e.Reason + " (the line holds a carriage return: JSONL lines end with LF or CRLF, not CR alone)", e.InnerException);
        }
        JsonDocument doc;
        try { doc = JsonDocument.Parse(bytes); }
        catch (JsonException e) { throw new DatasetFormatException(ctx.File, ctx.Line, null, $"malformed JSON: {e.Message}", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw ctx.Error(null, $"must be a JSON object, got {RecordFields.Kind(doc.RootElement)}");
            parse(doc.RootElement, ctx, into);
        }
    }

    private static bool IsBlank(ReadOnlySpan<byte> line) => line.IndexOfAnyExcept((byte)' ', (byte)'\t', (byte)'\r') < 0;
}
