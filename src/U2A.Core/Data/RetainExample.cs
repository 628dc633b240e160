namespace U2A.Core.Data;

/// <summary>A prompt with a response the model should keep (utility / retain data).</summary>
/// <param name="Prompt">The prompt text.</param>
/// <param name="Response">The response to keep.</param>
/// <param name="Source">Where the record was read, for error messages; null for records built in code.</param>
public sealed record RetainExample(string Prompt, string Response, SourceLocation? Source = null);
