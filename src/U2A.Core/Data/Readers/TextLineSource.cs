using System.Text;

namespace U2A.Core.Data;

/// <summary>Lines of text from a <see cref="TextReader"/> (already decoded by its owner), checked for lone surrogates.</summary>
internal sealed class TextLineSource(TextReader reader, int? maxLineBytes) : LineSource(maxLineBytes)
{
    private readonly char[] _buffer = new char[16 * 1024];
    private int _pos, _len;
    private bool _eof, _started;
    private readonly StringBuilder _line = new();

    private bool Fill()
    {
        if (_eof) return false;
        _pos = 0;
        _len = reader.Read(_buffer, 0, _buffer.Length);
        if (_len == 0) { _eof = true; return false; }
        if (!_started)
        {
            _started = true;
            if (_buffer[0] == '\uFEFF') _pos = 1; // a byte order mark the caller's reader kept
        }
        return true;
    }

    public override bool Next()
    {
        EncodingError = null;
        _line.Clear();
        long length = 0;
        int keepLimit = MaxLineBytes is int max ? max + 1 : int.MaxValue;
        bool any = false, lastWasCr = false;
        while (true)
        {
            if (_pos == _len && !Fill()) break;
            if (_pos == _len) continue; // the buffer held only the byte order mark
            any = true;
            var span = _buffer.AsSpan(_pos, _len - _pos);
            int nl = span.IndexOf('\n');
            var part = nl >= 0 ? span[..nl] : span;
            foreach (char c in part)
            {
                length += TextEncodingCheck.Utf8Length(c);
                if (length <= keepLimit) _line.Append(c);
            }
            if (part.Length > 0) lastWasCr = part[^1] == '\r';
            _pos += part.Length;
            if (nl >= 0) { _pos++; break; }
        }
        if (!any) return false;
        if (lastWasCr)
        {
            length--;
            if (_line.Length > 0 && _line[^1] == '\r') _line.Length--;
        }
        Length = length;
        if (TooLong) { Utf8 = ReadOnlyMemory<byte>.Empty; return true; }
        string text = _line.ToString();
        int bad = TextEncodingCheck.FindLoneSurrogate(text);
        if (bad < 0)
        {
            Utf8 = Encoding.UTF8.GetBytes(text);
            return true;
        }
        var sanitized = text.ToCharArray();
        for (int i = bad; i < sanitized.Length; i++)
        {
            if (!char.IsSurrogate(sanitized[i])) continue;
            if (char.IsHighSurrogate(sanitized[i]) && i + 1 < sanitized.Length && char.IsLowSurrogate(sanitized[i + 1])) { i++; continue; }
            sanitized[i] = '?';
        }
        Utf8 = Encoding.UTF8.GetBytes(sanitized);
        EncodingError = (Encoding.UTF8.GetByteCount(sanitized, 0, bad), TextEncodingCheck.DescribeLoneSurrogate(text[bad], bad + 1));
        return true;
    }
}
