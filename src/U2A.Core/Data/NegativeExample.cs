namespace U2A.Core.Data;

/// <summary>A prompt with a response the model should unlearn (an unsafe or dispreferred answer).</summary>
/// <param name="Prompt">The prompt text, exactly as the response follows it (any chat formatting is applied by the prompt template).</param>
/// <param name="Response">The response to unlearn.</param>
/// <param name="Source">Where the record was read, for error messages; null for records built in code.</param>
public sealed record NegativeExample(string Prompt, string Response, SourceLocation? Source = null);
