namespace U2A.Core.Tokenization;

/// <summary><c>Split</c>: a pattern, a delimiter behaviour and <c>invert</c>.</summary>
internal sealed class HfSplitPreTokenizer(IHfMatcher matcher, HfSplitBehavior behavior, bool invert) : HfPreTokenizer
{
    [ThreadStatic] private static List<(int, int)>? t_matches;

    public override void Split(string piece, bool first, List<string> output)
    {
        var matches = t_matches ??= new List<(int, int)>();
        matches.Clear();
        matcher.Find(piece, matches);
        SplitAt(piece, matches, behavior, invert, output);
    }
}
