namespace U2A.Core.Tokenization;

internal sealed class HfSequenceDecoder(IReadOnlyList<HfDecoder> steps) : HfDecoder
{
    public override List<string> DecodeChain(List<string> tokens)
    {
        foreach (var step in steps) tokens = step.DecodeChain(tokens);
        return tokens;
    }
}
