namespace U2A.Core.Tokenization;

internal sealed class HfStripNormalizer(bool left, bool right) : HfNormalizer
{
    public override string Normalize(string text, bool continuation) =>
        left && right ? text.Trim() : left ? text.TrimStart() : right ? text.TrimEnd() : text;
}
