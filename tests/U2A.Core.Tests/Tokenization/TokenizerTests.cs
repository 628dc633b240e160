using System.Text;
using U2A.Core.Tokenization;

namespace U2A.Core.Tests.Tokenization;

public class TokenizerTests
{
    [Fact]
    public void Word_tokenizer_round_trips_and_maps_unknown_words()
    {
        var tok = new WordTokenizer(["the", "cat", "sat", "on", "mat"]);
        Assert.Equal(9, tok.VocabSize);
        Assert.Equal((0, 1, 2, 3), (tok.PadId, tok.BosId!.Value, tok.EosId, tok.UnknownId));
        Assert.Equal(new[] { 4, 5, 6, 7, 4, 8 }, tok.Encode("the cat sat on the mat"));
        Assert.Equal("the cat sat on the mat", tok.Decode(tok.Encode("the cat sat on the mat")));
        Assert.Equal(new[] { 4, 3, 6 }, tok.Encode("  the dog\tsat\n"));
        Assert.Equal("the <unk> sat", tok.Decode(tok.Encode("the dog sat")));
        Assert.Equal("<bos> cat <eos> <pad>", tok.Decode([1, 5, 2, 0]));
        Assert.Throws<ArgumentException>(() => new WordTokenizer(["a", "a"]));
        Assert.Throws<ArgumentException>(() => new WordTokenizer(["a b"]));
        Assert.Throws<ArgumentException>(() => new WordTokenizer(["<eos>"]));
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.Decode([9]));
    }

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

    [Fact]
    public void Encoder_marks_the_exact_response_start_for_each_template()
    {
        var gpt2 = MlTokenizer.Gpt2();
        foreach (var template in new[] { PromptTemplate.Plain, PromptTemplate.HumanAssistant, PromptTemplate.ChatMl })
        {
            var enc = new PromptResponseEncoder(gpt2, template);
            var s = enc.Encode("How do I bake bread?", "Mix flour, water and yeast.");
            Assert.Equal(template.FormatPrompt("How do I bake bread?"), gpt2.Decode(s.Ids[..s.ResponseStart]));
            Assert.Equal(template.FormatResponse("Mix flour, water and yeast.") + "<|endoftext|>", gpt2.Decode(s.Ids[s.ResponseStart..]));
            Assert.Equal(0, s.LeadingSpecialTokens); // GPT-2 has no BOS
        }
        Assert.Equal("\n\nHuman: Hi\n\nAssistant:", PromptTemplate.HumanAssistant.FormatPrompt("Hi"));
        Assert.Equal(" Hello", PromptTemplate.HumanAssistant.FormatResponse("Hello"));
        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", PromptTemplate.ChatMl.FormatPrompt("Hi"));
        Assert.Equal("Hello<|im_end|>", PromptTemplate.ChatMl.FormatResponse("Hello"));
        Assert.Equal("literal {prompt} stays", PromptTemplate.Plain.FormatPrompt("literal {prompt} stays"));
        Assert.Throws<InvalidOperationException>(() => new PromptTemplate("no placeholder").FormatPrompt("x"));
    }

    [Fact]
    public void Encoder_adds_bos_and_eos_and_rejects_an_empty_prompt()
    {
        var tok = new WordTokenizer(["q", "a", "b"]);
        var s = new PromptResponseEncoder(tok).Encode("q", "a b");
        Assert.Equal(new[] { 1, 4, 5, 6, 2 }, s.Ids);
        Assert.Equal((2, 1), (s.ResponseStart, s.LeadingSpecialTokens));

        var noSpecials = new PromptResponseEncoder(tok, addBos: false, addEos: false).Encode("q", "a b");
        Assert.Equal(new[] { 4, 5, 6 }, noSpecials.Ids);
        Assert.Equal(1, noSpecials.ResponseStart);

        Assert.Throws<ArgumentException>(() => new PromptResponseEncoder(tok, addBos: false).Encode("", "a"));
        Assert.Throws<ArgumentException>(() => new PromptResponseEncoder(tok, addEos: false).Encode("q", " "));
        Assert.Equal(1, new PromptResponseEncoder(tok).Encode("", "a").ResponseStart); // BOS alone is a prompt
    }
}
