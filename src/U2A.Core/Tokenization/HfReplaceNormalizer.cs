using System.Text.RegularExpressions;

namespace U2A.Core.Tokenization;

/// <summary><c>Replace</c>: a literal or a regular expression, every occurrence replaced by the content.</summary>
internal sealed class HfReplaceNormalizer(string? literal, Regex? regex, string content) : HfNormalizer
{
    public override string Normalize(string text, bool continuation) => Apply(text);

    public string Apply(string text) =>
        literal is not null ? (literal.Length == 0 ? text : text.Replace(literal, content, StringComparison.Ordinal)) : regex!.Replace(text, content.Replace("$", "$$", StringComparison.Ordinal));
}
