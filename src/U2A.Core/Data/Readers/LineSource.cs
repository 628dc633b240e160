namespace U2A.Core.Data;

/// <summary>
/// The lines of a JSONL source as UTF-8 bytes. A line ends at LF (a CR before it is dropped); a lone CR is not a line
/// end. A UTF-8 byte order mark at the very start is dropped. Lines over the byte limit are not kept (only counted).
/// Encoding problems (invalid UTF-8 bytes, lone surrogates) are reported with the line, never replaced silently:
/// <see cref="Utf8"/> then holds a copy with '?' in their place, only so the field holding them can be located.
/// </summary>
internal abstract class LineSource
{
    protected LineSource(int? maxLineBytes) => MaxLineBytes = maxLineBytes;

    /// <summary>The limit on a line, in UTF-8 bytes; null for none.</summary>
    public int? MaxLineBytes { get; }

    /// <summary>The current line (valid until the next <see cref="Next"/>), without its line end.</summary>
    public ReadOnlyMemory<byte> Utf8 { get; protected set; }

    /// <summary>The length of the current line in UTF-8 bytes (also when it was over the limit and not kept).</summary>
    public long Length { get; protected set; }

    /// <summary>Whether the current line is over <see cref="MaxLineBytes"/> (then <see cref="Utf8"/> is empty).</summary>
    public bool TooLong => MaxLineBytes is int max && Length > max;

    /// <summary>The first encoding problem of the current line: its byte offset in <see cref="Utf8"/> and a description; null when none.</summary>
    public (int Offset, string Reason)? EncodingError { get; protected set; }

    /// <summary>Moves to the next line; false at the end of the source.</summary>
    public abstract bool Next();

}
