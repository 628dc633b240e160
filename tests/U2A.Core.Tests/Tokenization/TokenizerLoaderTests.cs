using System.Text;
using U2A.Core.Tokenization;

namespace U2A.Core.Tests.Tokenization;

/// <summary>TokenizerLoader.FromFolder on folders of each format, written by the test, and on the real Qwen3 folder.</summary>
public sealed class TokenizerLoaderTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"u2a-tok-{Guid.NewGuid():N}");

    public TokenizerLoaderTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private void Write(string name, string text) => File.WriteAllText(Path.Combine(_dir, name), text, new UTF8Encoding(false));

    // A byte-level BPE in the vocab.json + merges.txt format (GPT-2 family): h e l o, Ġ, and he, ll, hell, hello; <|endoftext|>.
    private const string VocabJson = """{"h": 0, "e": 1, "l": 2, "o": 3, "\u0120": 4, "he": 5, "ll": 6, "hell": 7, "hello": 8, "<|endoftext|>": 9, "<pad>": 10}""";
    private const string MergesTxt = "#version: 0.2\nl l\nh e\nhe ll\nhell o\n";

    [Fact]
    public void Vocab_and_merges_folder_loads_as_byte_level_bpe_with_the_config_tokens()
    {
        Write("vocab.json", VocabJson);
        Write("merges.txt", MergesTxt);
        var tok = TokenizerLoader.FromFolder(_dir);
        Assert.IsType<MlTokenizer>(tok);
        Assert.Equal(new[] { 8, 4, 8 }, tok.Encode("hello hello"));
        Assert.Equal((9, 9, (int?)null), (tok.EosId, tok.PadId, tok.BosId)); // EOS defaults to <|endoftext|>, no BOS

        Write("tokenizer_config.json", """{"eos_token": "<|endoftext|>", "bos_token": "<|endoftext|>", "pad_token": "<pad>", "add_bos_token": true}""");
        tok = TokenizerLoader.FromFolder(_dir);
        Assert.Equal((9, 10, (int?)9), (tok.EosId, tok.PadId, tok.BosId));
    }

    [Fact]
    public void Sentencepiece_folder_loads_tokenizer_model_and_honours_add_bos_token()
    {
        File.WriteAllBytes(Path.Combine(_dir, "tokenizer.model"), SentencePieceTokenizerTests.TinyModel());
        var tok = TokenizerLoader.FromFolder(_dir);
        Assert.IsType<MlTokenizer>(tok);
        Assert.Equal(((int?)1, 2, 2), (tok.BosId, tok.EosId, tok.PadId));
        Assert.Equal(new[] { 9, 6, 9, 3, 6, 7 }, tok.Encode("abc ab cab"));

        Write("tokenizer_config.json", """{"add_bos_token": false, "eos_token": {"content": "</s>"}, "pad_token": "<unk>"}""");
        tok = TokenizerLoader.FromFolder(_dir);
        Assert.Equal(((int?)null, 2, 0), (tok.BosId, tok.EosId, tok.PadId));
    }

    [Fact]
    public void Tokenizer_json_comes_first()
    {
        File.WriteAllBytes(Path.Combine(_dir, "tokenizer.model"), SentencePieceTokenizerTests.TinyModel());
        Write("vocab.json", VocabJson);
        Write("merges.txt", MergesTxt);
        Write("tokenizer.json", """
            {"version": "1.0", "added_tokens": [{"id": 9, "content": "<|endoftext|>", "special": true}], "normalizer": null,
             "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
             "post_processor": null, "decoder": {"type": "ByteLevel"},
             "model": {"type": "BPE", "vocab": {"h": 0, "e": 1, "l": 2, "o": 3, "\u0120": 4, "he": 5, "ll": 6, "hell": 7, "hello": 8},
                       "merges": ["l l", "h e", "he ll", "hell o"]}}
            """);
        Write("tokenizer_config.json", """{"eos_token": "<|endoftext|>"}""");
        var tok = Assert.IsType<HfTokenizer>(TokenizerLoader.FromFolder(_dir));
        Assert.Equal(new[] { 8, 4, 8, 9 }, tok.Encode("hello hello<|endoftext|>"));
        Assert.Equal("hello hello<|endoftext|>", tok.Decode(tok.Encode("hello hello<|endoftext|>")));
        Assert.Equal((10, 9), (tok.VocabSize, tok.EosId));
    }

    [Fact]
    public void Qwen3_folder_loads_in_one_call()
    {
        var tok = Assert.IsType<HfTokenizer>(TokenizerLoader.FromFolder(HfTokenizerParityTests.Qwen3Dir));
        Assert.Equal((151645, 151643), (tok.EosId, tok.PadId));
    }

    [Fact]
    public void Folder_without_a_tokenizer_is_refused()
    {
        Assert.Contains("tokenizer.json, tokenizer.model, or vocab.json with merges.txt", Assert.Throws<FileNotFoundException>(() => TokenizerLoader.FromFolder(_dir)).Message);
        Assert.Throws<DirectoryNotFoundException>(() => TokenizerLoader.FromFolder(Path.Combine(_dir, "missing")));
        Write("tokenizer.json", "{ not json");
        var e = Assert.Throws<TokenizerFileException>(() => TokenizerLoader.FromFolder(_dir));
        Assert.Equal(Path.Combine(_dir, "tokenizer.json"), e.FilePath);
    }
}
