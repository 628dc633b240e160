namespace U2A.Core.Tokenization;

internal sealed class HfSequenceNormalizer(IReadOnlyList<HfNormalizer> steps) : HfNormalizer
{
    public override string Normalize(string text, bool continuation)
    {
        foreach (var step in steps) text = step.Normalize(text, continuation);
        return text;
    }
}
