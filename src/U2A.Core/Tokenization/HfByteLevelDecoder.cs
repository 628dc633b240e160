using System.Text;

namespace U2A.Core.Tokenization;

/// <summary><c>ByteLevel</c>: GPT-2's byte characters back to bytes, read as UTF-8 (invalid sequences become U+FFFD).</summary>
internal sealed class HfByteLevelDecoder : HfDecoder
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    public override List<string> DecodeChain(List<string> tokens)
    {
        var bytes = new List<byte>();
        foreach (var token in tokens)
        {
            bool allBytes = true;
            foreach (char c in token)
                if (c >= HfBpeModel.CharToByte.Length || HfBpeModel.CharToByte[c] < 0) { allBytes = false; break; }
            if (allBytes) foreach (char c in token) bytes.Add((byte)HfBpeModel.CharToByte[c]);
            else bytes.AddRange(Encoding.UTF8.GetBytes(token)); // not a byte-level token (an added token with other characters): as written
        }
        return [Utf8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes))];
    }
}
