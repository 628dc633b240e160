namespace U2A.Core.Tokenization;

/// <summary><c>Fuse</c>: all tokens joined into one.</summary>
internal sealed class HfFuseDecoder : HfDecoder
{
    public override List<string> DecodeChain(List<string> tokens) => [string.Concat(tokens)];
}
