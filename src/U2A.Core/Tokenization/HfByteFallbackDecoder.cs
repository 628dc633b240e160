using System.Text;

namespace U2A.Core.Tokenization;

/// <summary><c>ByteFallback</c>: runs of <c>&lt;0xXX&gt;</c> tokens become the UTF-8 text they spell (U+FFFD per byte when invalid).</summary>
internal sealed class HfByteFallbackDecoder : HfDecoder
{
    private static readonly UTF8Encoding Strict = new(false, throwOnInvalidBytes: true);

    public override List<string> DecodeChain(List<string> tokens)
    {
        var output = new List<string>(tokens.Count);
        var pending = new List<byte>();
        void Flush()
        {
            if (pending.Count == 0) return;
            try { output.Add(Strict.GetString(pending.ToArray())); }
            catch (DecoderFallbackException) { for (int k = 0; k < pending.Count; k++) output.Add("\uFFFD"); }
            pending.Clear();
        }
        foreach (var t in tokens)
        {
            if (t.Length == 6 && t.StartsWith("<0x", StringComparison.Ordinal) && t[5] == '>' &&
                byte.TryParse(t.AsSpan(3, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out byte b))
                pending.Add(b);
            else
            {
                Flush();
                output.Add(t);
            }
        }
        Flush();
        return output;
    }
}
