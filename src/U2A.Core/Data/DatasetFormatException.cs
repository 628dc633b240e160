namespace U2A.Core.Data;

/// <summary>
/// A dataset record that cannot be read: malformed JSON or CSV, a missing or mistyped field, an empty response,
/// or a text over the configured length limit. The message names the file, the 1-based line and the field.
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

    /// <summary>An error no record boundary can be found after (an unclosed CSV quote): it fails under
    /// <see cref="BadRecordPolicy.Skip"/> too, since skipping it would drop the rest of the file.</summary>
    internal bool FailsUnderEveryPolicy { get; init; }

    /// <summary>The location as a <see cref="SourceLocation"/>.</summary>
    public SourceLocation Location => new(File, Line);

    private static string Format(string file, int line, string? field, string reason) =>
        field is null ? $"{file}, line {line}: {reason}" : $"{file}, line {line}, field '{field}': {reason}";
}
