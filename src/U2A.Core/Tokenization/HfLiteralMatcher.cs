namespace U2A.Core.Tokenization;

/// <summary>A literal pattern (<c>{"String": ...}</c>): its ordinal, non-overlapping occurrences.</summary>
internal sealed class HfLiteralMatcher(string literal) : IHfMatcher
{
    public void Find(string text, List<(int Start, int End)> matches)
    {
        if (literal.Length == 0) return;
        int at = 0;
        while ((at = text.IndexOf(literal, at, StringComparison.Ordinal)) >= 0)
        {
            matches.Add((at, at + literal.Length));
            at += literal.Length;
        }
    }
}
