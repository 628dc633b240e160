namespace U2A.Core.Tokenization;

/// <summary>An added token of a <c>tokenizer.json</c> (its <c>added_tokens</c> list).</summary>
/// <param name="Id">The token's id.</param>
/// <param name="Content">The text it stands for.</param>
/// <param name="Special">A special token: skipped by <c>Decode(ids, skipSpecialTokens: true)</c>.</param>
/// <param name="SingleWord">Recognised in text only as a whole word (no letter, digit or underscore beside it).</param>
/// <param name="LStrip">Absorbs the whitespace before it.</param>
/// <param name="RStrip">Absorbs the whitespace after it.</param>
/// <param name="Normalized">Matched in the normalised text (else in the raw text).</param>
public sealed record HfAddedToken(int Id, string Content, bool Special, bool SingleWord, bool LStrip, bool RStrip, bool Normalized);
