using U2A.Core.Data;
using U2A.Core.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Data;

public class TokenBatchTests
{
    private static Tensor Long(long[,] rows) => tensor(rows);

    [Fact]
    public void Response_mask_outside_the_attention_mask_is_rejected()
    {
        using var ids = Long(new long[,] { { 1, 4, 7, 2 }, { 1, 7, 2, 0 } });
        using var att = Long(new long[,] { { 1, 1, 1, 1 }, { 1, 1, 1, 0 } });
        using var resp = Long(new long[,] { { 0, 0, 1, 1 }, { 0, 1, 1, 1 } }); // row 1 scores its padding column
        var ex = Assert.Throws<ArgumentException>(() => new TokenBatch(ids, att, resp));
        Assert.Equal("responseMask", ex.ParamName);
        Assert.Contains("responseMask must lie inside attentionMask", ex.Message);

        using var ok = Long(new long[,] { { 0, 0, 1, 1 }, { 0, 1, 1, 0 } });
        using var batch = new TokenBatch(ids.alias(), att.alias(), ok.alias());
        Assert.Equal(2, batch.Count);
        using var empty = Long(new long[,] { { 0, 0, 1, 1 }, { 1, 0, 0, 0 } }); // row 1: only position 0
        Assert.Contains("at least one response token", Assert.Throws<ArgumentException>(() => new TokenBatch(ids, att, empty)).Message);
    }

    /// <summary>Select as it was before the row spans: index_select, then drop the columns whose attention sums to 0.</summary>
    private static (Tensor Ids, Tensor Att, Tensor Resp) ReferenceSelect(Tensor ids, Tensor att, Tensor resp, long[] indices)
    {
        using var idx = tensor(indices);
        var (i, a, r) = (ids.index_select(0, idx), att.index_select(0, idx), resp.index_select(0, idx));
        var used = a.sum(dim: 0).gt(0).nonzero().flatten().data<long>().ToArray();
        long first = used[0], last = used[^1];
        return (i[.., (int)first..(int)(last + 1)], a[.., (int)first..(int)(last + 1)], r[.., (int)first..(int)(last + 1)]);
    }

    private static void AssertSame(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.shape, actual.shape);
        Assert.Equal(ScalarType.Int64, actual.dtype);
        Assert.Equal(expected.contiguous().data<long>().ToArray(), actual.contiguous().data<long>().ToArray());
    }

    [Theory]
    [InlineData(PaddingSide.Right)]
    [InlineData(PaddingSide.Left)]
    public void Select_gives_the_tensors_of_the_device_side_trim(PaddingSide side)
    {
        using var scope = NewDisposeScope();
        var rng = new DeterministicRandom(side == PaddingSide.Left ? 11 : 7);
        var sequences = Enumerable.Range(0, 9).Select(_ =>
        {
            int prompt = 1 + rng.NextInt(6), response = 1 + rng.NextInt(6);
            return new EncodedSequence(Enumerable.Range(0, prompt + response).Select(_ => 3 + rng.NextInt(50)).ToArray(), prompt, 0);
        }).ToArray();
        var batch = SequenceCollator.Pad(sequences, 0, side);
        int trimmed = 0;
        for (int trial = 0; trial < 60; trial++)
        {
            var indices = Enumerable.Range(0, 1 + rng.NextInt(5)).Select(_ => (long)rng.NextInt(batch.Count)).ToArray(); // repeats allowed
            var (ei, ea, er) = ReferenceSelect(batch.InputIds, batch.AttentionMask, batch.ResponseMask, indices);
            var s = batch.Select(indices);
            AssertSame(ei, s.InputIds); AssertSame(ea, s.AttentionMask); AssertSame(er, s.ResponseMask);
            if (s.Length < batch.Length) trimmed++;

            // Selecting from a selection uses the shifted row spans.
            var again = Enumerable.Range(0, 1 + rng.NextInt(3)).Select(_ => (long)rng.NextInt(s.Count)).ToArray();
            var (fi, fa, fr) = ReferenceSelect(ei, ea, er, again);
            var s2 = s.Select(again);
            AssertSame(fi, s2.InputIds); AssertSame(fa, s2.AttentionMask); AssertSame(fr, s2.ResponseMask);
        }
        Assert.InRange(trimmed, 10, 59); // both the trimming and the untrimmed path ran
    }

    [Fact]
    public void A_row_whose_only_response_token_is_its_first_real_token_is_rejected_at_construction()
    {
        // Row 0 starts at column 1 with its only response token: no real token precedes it, so nothing predicts it.
        // The constructor refuses it (before, it was accepted here and only Select, after trimming, refused it).
        using var ids = Long(new long[,] { { 0, 7, 4, 8 }, { 1, 4, 7, 2 } });
        using var att = Long(new long[,] { { 0, 1, 1, 1 }, { 1, 1, 1, 1 } });
        using var resp = Long(new long[,] { { 0, 1, 0, 0 }, { 0, 0, 1, 1 } });
        Assert.Contains("after its first real token", Assert.Throws<ArgumentException>(() => new TokenBatch(ids.alias(), att.alias(), resp.alias())).Message);
        // The same row with a response token after its first real token is accepted, alone and trimmed.
        using var resp2 = Long(new long[,] { { 0, 0, 1, 0 }, { 0, 0, 1, 1 } });
        using var batch = new TokenBatch(ids.alias(), att.alias(), resp2.alias());
        using var alone = batch.Select([0]);
        Assert.Equal(3, alone.Length);
    }

    [Theory]
    [InlineData(PaddingSide.Right)]
    [InlineData(PaddingSide.Left)]
    public void Select_outside_any_dispose_scope_leaves_no_live_tensors(PaddingSide side)
    {
        var words = new WordTokenizer(["q", "r", "s", "a", "b", "c"]);
        var collator = new SequenceCollator(new PromptResponseEncoder(words), new CollateOptions { Padding = side });
        using var batch = collator.Negatives([new NegativeExample("q r s", "a"), new NegativeExample("q", "a b"), new NegativeExample("r", "c")]);
        long[][] picks = [[0, 1], [1, 2], [2], [0, 1, 2]]; // trimmed and untrimmed
        using (var warm = batch.Select(picks[0])) { }
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 100; i++)
        {
            using var s = batch.Select(picks[i % picks.Length]);
            Assert.Equal(picks[i % picks.Length].Length, s.Count);
        }
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Select_inside_a_scope_leaves_only_its_three_results_in_the_scope()
    {
        var words = new WordTokenizer(["q", "r", "s", "a", "b", "c"]);
        using var batch = new SequenceCollator(new PromptResponseEncoder(words)).Negatives([new NegativeExample("q r s", "a"), new NegativeExample("q", "a b")]);
        using var scope = NewDisposeScope();
        var s = batch.Select([1]);
        Assert.Equal(3, scope.DisposablesCount);
        Assert.Equal(new long[] { 1, 4, 7, 8, 2 }, s.InputIds.data<long>().ToArray());
    }
}
