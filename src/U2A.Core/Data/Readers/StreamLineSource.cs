namespace U2A.Core.Data;

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
