using System.Text.RegularExpressions;

namespace U2A.Core.Tokenization;

/// <summary>
/// A regular expression pattern (<c>{"Regex": ...}</c>) run by .NET's engine, for patterns that
/// <see cref="HfKnownPatternMatcher"/> does not recognise. .NET's syntax covers the patterns of current tokenizers;
/// unlike Oniguruma it works on UTF-16 code units, so a property class such as <c>\p{L}</c> does not match a character
/// outside the Basic Multilingual Plane (a surrogate pair).
/// </summary>
internal sealed class HfRegexMatcher(Regex regex) : IHfMatcher
{
    public void Find(string text, List<(int Start, int End)> matches)
    {
        for (var m = regex.Match(text); m.Success; m = m.NextMatch()) matches.Add((m.Index, m.Index + m.Length));
    }
}
