namespace U2A.Core.Tokenization;

internal sealed class HfLowercaseNormalizer : HfNormalizer
{
    public override string Normalize(string text, bool continuation) => text.ToLowerInvariant();
}
