namespace U2A.Core.Tokenization;

/// <summary><c>Metaspace</c>: spaces become the replacement character (<c>▁</c>), a prefix is added per the scheme, and the text is split before each replacement character.</summary>
internal sealed class HfMetaspacePreTokenizer(char replacement, string prependScheme, bool split) : HfPreTokenizer
{
    public override void Split(string piece, bool first, List<string> output)
    {
        piece = piece.Replace(' ', replacement);
        bool prepend = prependScheme == "always" || (prependScheme == "first" && first);
        if (prepend && !piece.StartsWith(replacement)) piece = replacement + piece;
        if (!split)
        {
            if (piece.Length > 0) output.Add(piece);
            return;
        }
        var matches = new List<(int, int)>();
        new HfLiteralMatcher(replacement.ToString()).Find(piece, matches);
        SplitAt(piece, matches, HfSplitBehavior.MergedWithNext, invert: false, output);
    }
}
