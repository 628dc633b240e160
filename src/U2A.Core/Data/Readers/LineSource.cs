using System.Text;

namespace U2A.Core.Data;

/// <summary>
/// The lines of a JSONL source as UTF-8 bytes. A line ends at LF (a CR before it is dropped); a lone CR is not a line
/// end. A UTF-8 byte order mark at the very start is dropped. Lines over the byte limit are not kept (only counted).
/// Encoding problems (invalid UTF-8 bytes, lone surrogates) are reported with the line, never replaced silently:
/// <see cref="Utf8"/> then holds a copy with '?' in their place, only so the field holding them can be located.
/// </summary>
internal abstract class LineSource
{
    protected LineSource(int? maxLineBytes) => MaxLineBytes = maxLineBytes;

    /// <summary>The limit on a line, in UTF-8 bytes; null for none.</summary>
    public int? MaxLineBytes { get; }

    /// <summary>The current line (valid until the next <see cref="Next"/>), without its line end.</summary>
    public ReadOnlyMemory<byte> Utf8 { get; protected set; }

    /// <summary>The length of the current line in UTF-8 bytes (also when it was over the limit and not kept).</summary>
    public long Length { get; protected set; }

    /// <summary>Whether the current line is over <see cref="MaxLineBytes"/> (then <see cref="Utf8"/> is empty).</summary>
    public bool TooLong => MaxLineBytes is int max && Length > max;

    /// <summary>The first encoding problem of the current line: its byte offset in <see cref="Utf8"/> and a description; null when none.</summary>
    public (int Offset, string Reason)? EncodingError { get; protected set; }

    /// <summary>Moves to the next line; false at the end of the source.</summary>
    public abstract bool Next();

}

/// <summary>Lines of a UTF-8 stream (a file), decoded strictly. The stream stays open: its owner disposes it.</summary>
internal sealed class StreamLineSource : LineSource
{
    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _pos, _len;
    private bool _eof;
    private byte[] _line = new byte[4096];

    /// <summary>Opens the lines of <paramref name="stream"/>; throws (under every policy) on a UTF-16 or UTF-32 byte order mark.</summary>
    public StreamLineSource(Stream stream, string file, int? maxLineBytes) : base(maxLineBytes)
    {
        _stream = stream;
        while (_len < 4 && Fill()) { }
        TextEncodingCheck.RejectNonUtf8Bom(_buffer.AsSpan(0, _len), file);
        if (_buffer.AsSpan(0, _len).StartsWith(TextEncodingCheck.Utf8Bom)) _pos = 3;
    }

    private bool Fill()
    {
        if (_eof) return false;
        if (_pos > 0 && _pos == _len) _pos = _len = 0;
        int n = _stream.Read(_buffer, _len, _buffer.Length - _len);
        if (n == 0) { _eof = true; return false; }
        _len += n;
        return true;
    }

    public override bool Next()
    {
        EncodingError = null;
        long length = 0;
        int kept = 0;
        int keepLimit = MaxLineBytes is int max ? max + 1 : int.MaxValue; // +1: room for a CR before the LF
        bool any = false, lastWasCr = false;
        while (true)
        {
            if (_pos == _len && !Fill()) break;
            any = true;
            var span = _buffer.AsSpan(_pos, _len - _pos);
            int nl = span.IndexOf((byte)'\n');
            var part = nl >= 0 ? span[..nl] : span;
            if (part.Length > 0)
            {
                int take = (int)Math.Min(part.Length, Math.Max(0, keepLimit - kept));
                if (take > 0)
                {
                    if (kept + take > _line.Length) Array.Resize(ref _line, Math.Max(kept + take, (int)Math.Min(Array.MaxLength, 2L * _line.Length)));
                    part[..take].CopyTo(_line.AsSpan(kept));
                    kept += take;
                }
                length += part.Length;
                lastWasCr = part[^1] == (byte)'\r';
            }
            _pos += part.Length;
            if (nl >= 0) { _pos++; break; }
        }
        if (!any) return false;
        if (lastWasCr) { length--; if (kept > length) kept = (int)length; }
        Length = length;
        if (TooLong) { Utf8 = ReadOnlyMemory<byte>.Empty; return true; }
        var line = _line.AsMemory(0, kept);
        int bad = TextEncodingCheck.FindInvalidUtf8(line.Span, out int badLength);
        if (bad >= 0)
        {
            EncodingError = (bad, TextEncodingCheck.DescribeInvalidUtf8(line.Span, bad, badLength, bad + 1));
            line = TextEncodingCheck.ReplaceInvalidUtf8(line.Span);
        }
        Utf8 = line;
        return true;
    }

}

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
