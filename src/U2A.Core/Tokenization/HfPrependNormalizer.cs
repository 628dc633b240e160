namespace U2A.Core.Tokenization;

internal sealed class HfPrependNormalizer(string prefix) : HfNormalizer
{
    public override string Normalize(string text, bool continuation) => text.Length == 0 || continuation ? text : prefix + text;
}
