using U2A.Core.Tokenization;

namespace U2A.Core.Tests.Tokenization;

public class WordTokenizerTests
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
}
