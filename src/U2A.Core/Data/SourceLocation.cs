namespace U2A.Core.Data;

/// <summary>Where a record came from: a file (or other named source) and the 1-based line its text starts on.</summary>
/// <param name="File">The file path or source name the record was read from.</param>
/// <param name="Line">The 1-based line number of the record.</param>
public readonly record struct SourceLocation(string File, int Line)
{
    /// <summary>"file, line N": the form used in error messages.</summary>
    public override string ToString() => $"{File}, line {Line}";
}
