namespace U2A.Core.Tokenization;

/// <summary>A normalizer of <c>tokenizer.json</c>.</summary>
internal abstract class HfNormalizer
{
    /// <summary>The normalised text; <paramref name="continuation"/>: the text continues earlier text (no prefix added).</summary>
    public abstract string Normalize(string text, bool continuation);
}
