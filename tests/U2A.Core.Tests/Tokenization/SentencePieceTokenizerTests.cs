using System.Text;
using U2A.Core.Tokenization;

namespace U2A.Core.Tests.Tokenization;

/// <summary>
/// The SentencePiece path on a tiny tokenizer.model written here by hand (a protobuf ModelProto: 11 pieces, BPE,
/// Llama-like normaliser: dummy prefix, whitespace escaped as U+2581). No real Llama model is available.
/// </summary>
public class SentencePieceTokenizerTests
{
    // Piece ids: <unk>=0 <s>=1 </s>=2 ▁=3 a=4 b=5 c=6 ab=7 ▁a=8 ▁ab=9 abc=10.
    private static readonly (string Piece, float Score, int Type)[] Pieces =
    [
        ("<unk>", 0, 2), ("<s>", 0, 3), ("</s>", 0, 3),
        ("\u2581", -1, 1), ("a", -2, 1), ("b", -3, 1), ("c", -4, 1), ("ab", -5, 1), ("\u2581a", -6, 1), ("\u2581ab", -7, 1), ("abc", -8, 1),
    ];

    internal static byte[] TinyModel() => Message(m =>
    {
        foreach (var p in Pieces) Bytes(m, 1, Message(x => { Text(x, 1, p.Piece); Float(x, 2, p.Score); Int(x, 3, p.Type); }));
        // TrainerSpec: model_type BPE (2), vocab_size, unk/bos/eos/pad ids.
        Bytes(m, 2, Message(t => { Int(t, 3, 2); Int(t, 4, Pieces.Length); Int(t, 40, 0); Int(t, 41, 1); Int(t, 42, 2); Int(t, 43, -1); }));
        // NormalizerSpec: identity, add_dummy_prefix, keep extra whitespace, escape whitespace.
        Bytes(m, 3, Message(n => { Text(n, 1, "identity"); Int(n, 3, 1); Int(n, 4, 0); Int(n, 5, 1); }));
    });

    [Fact]
    public void Hand_written_tokenizer_model_loads_with_its_special_ids_and_round_trips()
    {
        var tok = MlTokenizer.FromSentencePiece(new MemoryStream(TinyModel()));
        Assert.Equal((11, 1, 2, 2), (tok.VocabSize, tok.BosId!.Value, tok.EosId, tok.PadId));
        var ids = tok.Encode("abc ab cab");
        Assert.Equal(new[] { 9, 6, 9, 3, 6, 7 }, ids); // as Microsoft.ML.Tokenizers 2.0.1 merges this model
        Assert.Equal("abc ab cab", tok.Decode(ids));

        var path = Path.Combine(Path.GetTempPath(), $"u2a-{Guid.NewGuid():N}.model");
        File.WriteAllBytes(path, TinyModel());
        try { Assert.Equal(ids, MlTokenizer.FromSentencePiece(path).Encode("abc ab cab")); }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Response_after_the_prompt_gets_no_extra_dummy_prefix_space()
    {
        var tok = MlTokenizer.FromSentencePiece(new MemoryStream(TinyModel()));
        // Encoded standalone, " ab" gets the dummy prefix too: joined, the text would read "abc  ab".
        Assert.Equal("abc  ab", tok.Decode(tok.Encode("abc").Concat(tok.Encode(" ab"))));
        Assert.Equal("abc ab", tok.Decode(tok.Encode("abc").Concat(tok.EncodeContinuation(" ab"))));
        Assert.Equal("abcab", tok.Decode(tok.Encode("abc").Concat(tok.EncodeContinuation("ab"))));

        var s = new PromptResponseEncoder(tok).Encode("abc", " ab c");
        Assert.Equal(new[] { 1, 9, 6, 9, 3, 6, 2 }, s.Ids); // <s> ▁ab c | ▁ab ▁ c </s>
        Assert.Equal((3, 1), (s.ResponseStart, s.LeadingSpecialTokens));
        Assert.Equal("abc ab c", tok.Decode(s.Ids[1..^1]));
        Assert.Equal("abc", tok.Decode(s.Ids[1..s.ResponseStart]));
    }

    private static byte[] Message(Action<Stream> write) { var m = new MemoryStream(); write(m); return m.ToArray(); }
    private static void Varint(Stream s, ulong v) { while (v >= 0x80) { s.WriteByte((byte)(v | 0x80)); v >>= 7; } s.WriteByte((byte)v); }
    private static void Tag(Stream s, int field, int wire) => Varint(s, (ulong)((field << 3) | wire));
    private static void Bytes(Stream s, int field, byte[] b) { Tag(s, field, 2); Varint(s, (ulong)b.Length); s.Write(b); }
    private static void Text(Stream s, int field, string v) => Bytes(s, field, Encoding.UTF8.GetBytes(v));
    private static void Int(Stream s, int field, long v) { Tag(s, field, 0); Varint(s, unchecked((ulong)v)); }
    private static void Float(Stream s, int field, float f)
    {
        Tag(s, field, 5);
        Span<byte> b = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(b, f);
        s.Write(b);
    }
}
