namespace U2A.Core.Tokenization;

/// <summary><c>Metaspace</c>: the replacement character back to a space; the first token's leading space dropped unless the scheme is "never".</summary>
internal sealed class HfMetaspaceDecoder(char replacement, string prependScheme) : HfDecoder
{
    public override List<string> DecodeChain(List<string> tokens)
    {
        var output = new List<string>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
        {
            var t = tokens[i].Replace(replacement, ' ');
            if (i == 0 && prependScheme != "never" && t.StartsWith(' ')) t = t[1..];
            output.Add(t);
        }
        return output;
    }
}
