namespace U2A.Core.Tokenization;

/// <summary><c>ByteLevel</c>: optional prefix space, optional GPT-2 split, then the pieces are read as bytes.</summary>
internal sealed class HfByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) : HfPreTokenizer
{
    private static readonly HfSplitPreTokenizer Gpt2Split = new(HfKnownPatternMatcher.Gpt2Matcher, HfSplitBehavior.Isolated, invert: false);

    public override bool ByteLevel => true;

    public override void Split(string piece, bool first, List<string> output)
    {
        if (addPrefixSpace && !piece.StartsWith(' ')) piece = " " + piece;
        if (useRegex) Gpt2Split.Split(piece, first, output);
        else if (piece.Length > 0) output.Add(piece);
    }
}
