namespace U2A.Core.Tokenization;

/// <summary><c>Strip</c>: removes up to <c>start</c> leading and <c>stop</c> trailing occurrences of a character from each token.</summary>
internal sealed class HfStripDecoder(char content, int start, int stop) : HfDecoder
{
    public override List<string> DecodeChain(List<string> tokens) => tokens.Select(t =>
    {
        int s = 0, e = t.Length;
        for (int k = 0; k < start && s < e && t[s] == content; k++) s++;
        for (int k = 0; k < stop && e > s && t[e - 1] == content; k++) e--;
        return t[s..e];
    }).ToList();
}
