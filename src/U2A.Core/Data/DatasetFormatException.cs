namespace U2A.Core.Data;

/// <summary>
/// A dataset record that cannot be read: malformed JSON or CSV, text that is not strict UTF-8 (invalid bytes, lone
/// surrogates, escaped or raw, NUL characters), a JSON key repeated in one object, a missing or mistyped field, an
/// empty response, or a text or line over the configured length limits. The message names the file, the 1-based line
/// and the field (when one is at fault; nested fields by path, e.g. <c>chosen[1].content</c>).
/// </summary>
public sealed class DatasetFormatException : Exception
{
    /// <summary>Creates the exception for <paramref name="file"/>, line <paramref name="line"/>, field <paramref name="field"/>.</summary>
    /// <param name="file">The file (or source name).</param>
    /// <param name="line">The 1-based line number.</param>
    /// <param name="field">The field at fault, or null when the whole line is (e.g. malformed JSON).</param>
    /// <param name="reason">What is wrong.</param>
    /// <param name="inner">The underlying exception, if any.</param>
    public DatasetFormatException(string file, int line, string? field, string reason, Exception? inner = null)
        : base(Format(file, line, field, reason), inner)
    {
        File = file;
        Line = line;
        Field = field;
        Reason = reason;
    }

    /// <summary>The file or source name.</summary>
    public string File { get; }

    /// <summary>The 1-based line number.</summary>
    public int Line { get; }

    /// <summary>The field at fault, or null when the whole line is.</summary>
    public string? Field { get; }

    /// <summary>What is wrong, without the location.</summary>
    public string Reason { get; }

    /// <summary>An error about the whole file, not one record (a UTF-16 byte order mark, a wrong CSV header): it fails
    /// under <see cref="BadRecordPolicy.Skip"/> too, since no record of the file could be read.</summary>
    internal bool FailsUnderEveryPolicy { get; init; }

    /// <summary>The location as a <see cref="SourceLocation"/>.</summary>
    public SourceLocation Location => new(File, Line);

    private static string Format(string file, int line, string? field, string reason) =>
        field is null ? $"{file}, line {line}: {reason}" : $"{file}, line {line}, field '{field}': {reason}";
}
