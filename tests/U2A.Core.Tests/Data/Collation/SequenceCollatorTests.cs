using U2A.Core.Alignment;
using U2A.Core.Unlearning;
using U2A.Core.Data;
using U2A.Core.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Data.Collation;

public class SequenceCollatorTests
{
    // Ids: <pad>=0 <bos>=1 <eos>=2 <unk>=3, then q=4 r=5 s=6 a=7 b=8 c=9.
    private static readonly WordTokenizer Words = new(["q", "r", "s", "a", "b", "c"]);

    private static long[][] Rows(Tensor t) =>
        Enumerable.Range(0, (int)t.shape[0]).Select(i => t[i].data<long>().ToArray()).ToArray();

    [Fact]
    public void Right_padding_hand_checked()
    {
        var collator = new SequenceCollator(new PromptResponseEncoder(Words));
        using var batch = collator.Negatives([new NegativeExample("q r", "a"), new NegativeExample("q", "a b c")]);
        // Row 0: <bos> q r | a <eos>        Row 1: <bos> q | a b c <eos>
        Assert.Equal(new[] { new long[] { 1, 4, 5, 7, 2, 0 }, new long[] { 1, 4, 7, 8, 9, 2 } }, Rows(batch.InputIds));
        Assert.Equal(new[] { new long[] { 1, 1, 1, 1, 1, 0 }, new long[] { 1, 1, 1, 1, 1, 1 } }, Rows(batch.AttentionMask));
        Assert.Equal(new[] { new long[] { 0, 0, 0, 1, 1, 0 }, new long[] { 0, 0, 1, 1, 1, 1 } }, Rows(batch.ResponseMask));
        Assert.Equal(ScalarType.Int64, batch.ResponseMask.dtype);
        Assert.Equal(DeviceType.CPU, batch.Device.type);
    }

    [Fact]
    public void Left_padding_hand_checked_with_a_custom_pad_id()
    {
        var collator = new SequenceCollator(new PromptResponseEncoder(Words, addEos: false), new CollateOptions { Padding = PaddingSide.Left, PadId = 2 });
        using var batch = collator.Retain([new RetainExample("q r s", "a"), new RetainExample("q", "b")]);
        // Row 0: <bos> q r s | a              Row 1: pad pad <bos> q | b
        Assert.Equal(new[] { new long[] { 1, 4, 5, 6, 7 }, new long[] { 2, 2, 1, 4, 8 } }, Rows(batch.InputIds));
        Assert.Equal(new[] { new long[] { 1, 1, 1, 1, 1 }, new long[] { 0, 0, 1, 1, 1 } }, Rows(batch.AttentionMask));
        Assert.Equal(new[] { new long[] { 0, 0, 0, 0, 1 }, new long[] { 0, 0, 0, 0, 1 } }, Rows(batch.ResponseMask));
    }

    [Fact]
    public void Preference_batch_collates_chosen_and_rejected_separately_in_the_same_row_order()
    {
        var collator = new SequenceCollator(new PromptResponseEncoder(Words, addBos: false, addEos: false));
        using var batch = PreferenceBatch.FromPairs(collator, [new PreferencePair("q", "a b c", "a"), new PreferencePair("r s", "b", "c c c")]);
        Assert.Equal(2, batch.Count);
        Assert.Equal(new[] { new long[] { 4, 7, 8, 9 }, new long[] { 5, 6, 8, 0 } }, Rows(batch.Chosen.InputIds));
        Assert.Equal(new[] { new long[] { 4, 7, 0, 0, 0 }, new long[] { 5, 6, 9, 9, 9 } }, Rows(batch.Rejected.InputIds)); // own length, same rows
        Assert.Equal(new[] { new long[] { 0, 1, 1, 1 }, new long[] { 0, 0, 1, 0 } }, Rows(batch.Chosen.ResponseMask));
        Assert.Equal(new[] { new long[] { 0, 1, 0, 0, 0 }, new long[] { 0, 0, 1, 1, 1 } }, Rows(batch.Rejected.ResponseMask));

        using var forget = ForgetBatch.FromExamples(collator, [new NegativeExample("q", "a")]);
        Assert.Null(forget.Reference);
        Assert.Equal(new[] { new long[] { 4, 7 } }, Rows(forget.Tokens.InputIds));
    }

    [Fact]
    public void Truncation_keeps_the_response_and_drops_the_prompt_from_the_left_keeping_bos()
    {
        var enc = new PromptResponseEncoder(Words);
        var s = enc.Encode("q r s q r", "a b"); // <bos> q r s q r | a b <eos>  (9 tokens)
        var t = SequenceCollator.Truncate(s, 6, TruncationPolicy.TruncatePromptLeft);
        Assert.Equal(new[] { 1, 4, 5, 7, 8, 2 }, t.Ids); // <bos> q r | a b <eos>: the last two prompt tokens kept
        Assert.Equal((3, 1), (t.ResponseStart, t.LeadingSpecialTokens));
        Assert.Equal("a b <eos>", Words.Decode(t.Ids[t.ResponseStart..]));
        Assert.Same(s, SequenceCollator.Truncate(s, 9, TruncationPolicy.Fail)); // fits: unchanged

        // Through the collator, with the record's source in the error.
        var collator = new SequenceCollator(enc, new CollateOptions { MaxLength = 5, Truncation = TruncationPolicy.TruncatePromptLeft });
        using (var batch = collator.Negatives([new NegativeExample("q r s q r", "a b", new("n.jsonl", 7)), new NegativeExample("q", "a")]))
        {
            Assert.Equal(new[] { new long[] { 1, 5, 7, 8, 2 }, new long[] { 1, 4, 7, 2, 0 } }, Rows(batch.InputIds));
            Assert.Equal(new[] { new long[] { 0, 0, 1, 1, 1 }, new long[] { 0, 0, 1, 1, 0 } }, Rows(batch.ResponseMask));
        }
        var tooLong = new NegativeExample("q", "a b c a b", new("n.jsonl", 9)); // response + EOS = 6 tokens > 5 - 1
        var ex = Assert.Throws<CollationException>(() => collator.Negatives([tooLong]));
        Assert.Equal(new SourceLocation("n.jsonl", 9), ex.Location);
        Assert.StartsWith("n.jsonl, line 9, field 'response':", ex.Message);

        var cut = new SequenceCollator(enc, new CollateOptions { MaxLength = 5, Truncation = TruncationPolicy.TruncatePromptLeftThenResponseRight });
        using (var batch = cut.Negatives([tooLong]))
            Assert.Equal(new[] { new long[] { 1, 7, 8, 9, 7 } }, Rows(batch.InputIds)); // <bos> | a b c a

        var fail = new SequenceCollator(enc, new CollateOptions { MaxLength = 5, Truncation = TruncationPolicy.Fail });
        var failEx = Assert.Throws<CollationException>(() => fail.Negatives([new NegativeExample("q r s", "a b", new("f.jsonl", 3))]));
        Assert.Contains("f.jsonl, line 3", failEx.Message);
        Assert.Contains("7 tokens", failEx.Message);
    }

    [Fact]
    public void Too_long_under_Fail_names_the_field()
    {
        var fail = new SequenceCollator(new PromptResponseEncoder(Words), new CollateOptions { MaxLength = 5, Truncation = TruncationPolicy.Fail });
        // <bos> q | a b c <eos> = 6 tokens: the response field is named.
        var neg = Assert.Throws<CollationException>(() => fail.Negatives([new NegativeExample("q", "a b c", new("n.jsonl", 4))]));
        Assert.Equal("response", neg.Field);
        Assert.StartsWith("n.jsonl, line 4, field 'response':", neg.Message);
        Assert.Equal("response", Assert.Throws<CollationException>(() => fail.Retain([new RetainExample("q", "a b c", new("r.jsonl", 2))])).Field);

        // Chosen fits, rejected does not; then the reverse.
        var rejected = Assert.Throws<CollationException>(() => PreferenceBatch.FromPairs(fail, [new PreferencePair("q", "a", "a b c", new("p.jsonl", 8))]));
        Assert.Equal(("rejected", new SourceLocation("p.jsonl", 8)), (rejected.Field, rejected.Location!.Value));
        Assert.StartsWith("p.jsonl, line 8, field 'rejected':", rejected.Message);
        Assert.Equal("chosen", Assert.Throws<CollationException>(() => PreferenceBatch.FromPairs(fail, [new PreferencePair("q", "a b c", "a", new("p.jsonl", 9))])).Field);

        // A prompt that fills MaxLength on its own: <bos> q r s q | a <eos>.
        var prompt = Assert.Throws<CollationException>(() => PreferenceBatch.FromPairs(fail, [new PreferencePair("q r s q", "a", "b", new("p.jsonl", 10))]));
        Assert.StartsWith("p.jsonl, line 10, field 'prompt':", prompt.Message);

        // The response that cannot be kept whole under TruncatePromptLeft is named too.
        var keep = new SequenceCollator(new PromptResponseEncoder(Words), new CollateOptions { MaxLength = 5 });
        var whole = Assert.Throws<CollationException>(() => PreferenceBatch.FromPairs(keep, [new PreferencePair("q", "a", "a b c a", new("p.jsonl", 11))]));
        Assert.Equal("rejected", whole.Field);
    }

    [Theory]
    [InlineData(1, "CollateOptions.MaxLength must be at least 2", "got 1")]
    [InlineData(0, "CollateOptions.MaxLength must be at least 2", "got 0")]
    [InlineData(-3, "CollateOptions.MaxLength must be at least 2", "got -3")]
    public void Collate_options_are_checked_when_the_collator_is_built(int maxLength, string message, string got)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => new SequenceCollator(new PromptResponseEncoder(Words), new CollateOptions { MaxLength = maxLength }));
        Assert.Contains(message, ex.Message);
        Assert.Contains(got, ex.Message);
        Assert.Contains("CollateOptions.PadId must not be negative, got -1",
            Assert.ThrowsAny<ArgumentException>(() => new SequenceCollator(new PromptResponseEncoder(Words), new CollateOptions { PadId = -1 })).Message);
        Assert.Contains("CollateOptions.Padding",
            Assert.ThrowsAny<ArgumentException>(() => new CollateOptions { Padding = (PaddingSide)7 }.Validate()).Message);
        var ok = new CollateOptions { MaxLength = 2 };
        Assert.Same(ok, ok.Validate());
    }

    [Fact]
    public void Truncation_without_bos_keeps_at_least_one_prompt_token()
    {
        var enc = new PromptResponseEncoder(Words, addBos: false, addEos: false);
        var t = SequenceCollator.Truncate(enc.Encode("q r s", "a b"), 3, TruncationPolicy.TruncatePromptLeft);
        Assert.Equal(new[] { 6, 7, 8 }, t.Ids);
        Assert.Equal(1, t.ResponseStart);
        Assert.Throws<CollationException>(() => SequenceCollator.Truncate(enc.Encode("q", "a b c"), 3, TruncationPolicy.TruncatePromptLeft));
        var cut = SequenceCollator.Truncate(enc.Encode("q r", "a b c"), 3, TruncationPolicy.TruncatePromptLeftThenResponseRight);
        Assert.Equal(new[] { 5, 7, 8 }, cut.Ids);
    }

    [Fact]
    public void Batch_is_created_on_the_requested_device()
    {
        var collator = new SequenceCollator(new PromptResponseEncoder(Words), new CollateOptions { Device = CPU });
        using var batch = collator.Negatives([new NegativeExample("q", "a")]);
        Assert.Equal(DeviceType.CPU, batch.InputIds.device_type);
        Assert.Equal(DeviceType.CPU, batch.ResponseMask.device_type);
        if (cuda.is_available())
        {
            var gpu = new SequenceCollator(new PromptResponseEncoder(Words), new CollateOptions { Device = CUDA });
            using var g = gpu.Negatives([new NegativeExample("q", "a")]);
            Assert.Equal(DeviceType.CUDA, g.InputIds.device_type);
        }
    }
}
