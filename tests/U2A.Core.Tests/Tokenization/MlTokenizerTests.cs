using System.Text;
using U2A.Core.Tokenization;

namespace U2A.Core.Tests.Tokenization;

public class MlTokenizerTests
{
    // A tiny byte-level BPE vocabulary in the Hugging Face vocab.json + merges.txt layout (space = "Ġ").
    private const string Vocab = "{\"a\": 0, \"b\": 1, \"c\": 2, \"Ġ\": 3, \"ab\": 4, \"abc\": 5, \"Ġa\": 6, \"Ġab\": 7, \"<|endoftext|>\": 8}";
    private const string Merges = "#version: 0.2\na b\nab c\nĠ a\nĠa b\n";

    private static MemoryStream Utf8(string s) => new(Encoding.UTF8.GetBytes(s));

    [Fact]
    public void Bpe_vocab_and_merges_encode_by_merge_rank_and_round_trip()
    {
        var tok = MlTokenizer.FromBpe(Utf8(Vocab), Utf8(Merges), eosToken: "<|endoftext|>");
        Assert.Equal(9, tok.VocabSize);
        Assert.Equal(8, tok.EosId);
        Assert.Equal(8, tok.PadId);
        Assert.Null(tok.BosId);
        // "abc" -> abc; " ab" -> Ġ + ab ("a b" outranks "Ġ a"); " cab" -> Ġ c ab.
        Assert.Equal(new[] { 5, 3, 4, 3, 2, 4 }, tok.Encode("abc ab cab"));
        Assert.Equal("abc ab cab", tok.Decode(tok.Encode("abc ab cab")));
        Assert.Equal(new[] { 6 }, tok.Encode(" a"));
        Assert.Equal("<|endoftext|>", tok.Decode([8]));

        var files = Path.Combine(Path.GetTempPath(), $"u2a-bpe-{Guid.NewGuid():N}");
        Directory.CreateDirectory(files);
        try
        {
            File.WriteAllText(Path.Combine(files, "vocab.json"), Vocab);
            File.WriteAllText(Path.Combine(files, "merges.txt"), Merges);
            var fromFiles = MlTokenizer.FromBpe(Path.Combine(files, "vocab.json"), Path.Combine(files, "merges.txt"), "<|endoftext|>", padToken: "a");
            Assert.Equal(new[] { 5, 3, 4, 3, 2, 4 }, fromFiles.Encode("abc ab cab"));
            Assert.Equal(0, fromFiles.PadId);
        }
        finally { Directory.Delete(files, recursive: true); }

        // Not byte-level: Microsoft.ML.Tokenizers' default pre-tokenizer splits on whitespace and drops it.
        var words = MlTokenizer.FromBpe(Utf8(Vocab), Utf8(Merges), eosToken: "<|endoftext|>", byteLevel: false);
        Assert.Equal(new[] { 5, 4, 2, 4 }, words.Encode("abc ab cab"));
        Assert.Equal("abcabcab", words.Decode(words.Encode("abc ab cab")));

        var ex = Assert.Throws<ArgumentException>(() => MlTokenizer.FromBpe(Utf8(Vocab), Utf8(Merges), eosToken: "</s>"));
        Assert.Contains("</s>", ex.Message);
    }
}
