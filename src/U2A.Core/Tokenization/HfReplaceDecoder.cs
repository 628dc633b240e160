namespace U2A.Core.Tokenization;

/// <summary><c>Replace</c> applied to each token.</summary>
internal sealed class HfReplaceDecoder(HfReplaceNormalizer replace) : HfDecoder
{
    public override List<string> DecodeChain(List<string> tokens) => tokens.Select(replace.Apply).ToList();
}
