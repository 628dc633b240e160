namespace U2A.Core.Tokenization;

/// <summary>
/// A tokenizer file (<c>tokenizer.json</c>, <c>tokenizer_config.json</c>) that cannot be used: malformed, too large, or
/// holding a component this library does not implement. The message names the file and the JSON path of the offending
/// value (<c>$.pre_tokenizer.pretokenizers[1].type</c>).
/// </summary>
public sealed class TokenizerFileException : FormatException
{
    /// <summary>Creates the exception for <paramref name="filePath"/> at <paramref name="jsonPath"/>.</summary>
    public TokenizerFileException(string filePath, string jsonPath, string message, Exception? innerException = null)
        : base($"{filePath} at {jsonPath}: {message}", innerException)
    {
        FilePath = filePath;
        JsonPath = jsonPath;
    }

    /// <summary>The file (as given to the loader, or a name such as <c>tokenizer.json</c> for text loaded from memory).</summary>
    public string FilePath { get; }

    /// <summary>The JSON path of the offending value (<c>$</c> for the whole file).</summary>
    public string JsonPath { get; }
}
