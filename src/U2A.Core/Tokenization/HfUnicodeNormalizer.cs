using System.Text;

namespace U2A.Core.Tokenization;

internal sealed class HfUnicodeNormalizer(NormalizationForm form) : HfNormalizer
{
    public override string Normalize(string text, bool continuation) => text.IsNormalized(form) ? text : text.Normalize(form);
}
