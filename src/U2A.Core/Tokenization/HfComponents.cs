using System.Text;
using System.Text.RegularExpressions;

namespace U2A.Core.Tokenization;

/// <summary>A normalizer of <c>tokenizer.json</c>.</summary>
internal abstract class HfNormalizer
{
    /// <summary>The normalised text; <paramref name="continuation"/>: the text continues earlier text (no prefix added).</summary>
    public abstract string Normalize(string text, bool continuation);
}

internal sealed class HfUnicodeNormalizer(NormalizationForm form) : HfNormalizer
{
    public override string Normalize(string text, bool continuation) => text.IsNormalized(form) ? text : text.Normalize(form);
}

internal sealed class HfLowercaseNormalizer : HfNormalizer
{
    public override string Normalize(string text, bool continuation) => text.ToLowerInvariant();
}

internal sealed class HfStripNormalizer(bool left, bool right) : HfNormalizer
{
    public override string Normalize(string text, bool continuation) =>
        left && right ? text.Trim() : left ? text.TrimStart() : right ? text.TrimEnd() : text;
}

internal sealed class HfPrependNormalizer(string prefix) : HfNormalizer
{
    public override string Normalize(string text, bool continuation) => text.Length == 0 || continuation ? text : prefix + text;
}

/// <summary><c>Replace</c>: a literal or a regular expression, every occurrence replaced by the content.</summary>
internal sealed class HfReplaceNormalizer(string? literal, Regex? regex, string content) : HfNormalizer
{
    public override string Normalize(string text, bool continuation) => Apply(text);

    public string Apply(string text) =>
        literal is not null ? (literal.Length == 0 ? text : text.Replace(literal, content, StringComparison.Ordinal)) : regex!.Replace(text, content.Replace("$", "$$", StringComparison.Ordinal));
}

internal sealed class HfSequenceNormalizer(IReadOnlyList<HfNormalizer> steps) : HfNormalizer
{
    public override string Normalize(string text, bool continuation)
    {
        foreach (var step in steps) text = step.Normalize(text, continuation);
        return text;
    }
}

/// <summary>A decoder of <c>tokenizer.json</c>: turns the list of token strings into text pieces (Hugging Face's <c>decode_chain</c>).</summary>
internal abstract class HfDecoder
{
    public abstract List<string> DecodeChain(List<string> tokens);
}

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

/// <summary><c>Replace</c> applied to each token.</summary>
internal sealed class HfReplaceDecoder(HfReplaceNormalizer replace) : HfDecoder
{
    public override List<string> DecodeChain(List<string> tokens) => tokens.Select(replace.Apply).ToList();
}

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

/// <summary><c>Fuse</c>: all tokens joined into one.</summary>
internal sealed class HfFuseDecoder : HfDecoder
{
    public override List<string> DecodeChain(List<string> tokens) => [string.Concat(tokens)];
}

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

internal sealed class HfSequenceDecoder(IReadOnlyList<HfDecoder> steps) : HfDecoder
{
    public override List<string> DecodeChain(List<string> tokens)
    {
        foreach (var step in steps) tokens = step.DecodeChain(tokens);
        return tokens;
    }
}
