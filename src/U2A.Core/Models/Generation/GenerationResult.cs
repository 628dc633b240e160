namespace U2A.Core.Models.Generation;

/// <summary>Generated tokens per sequence.</summary>
/// <param name="Tokens">The new tokens of each sequence, up to and including its stop token (prompt excluded).</param>
/// <param name="Stopped">Whether each sequence ended on a stop token (false: it reached MaxNewTokens).</param>
public sealed record GenerationResult(IReadOnlyList<long[]> Tokens, IReadOnlyList<bool> Stopped);
