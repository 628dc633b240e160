using U2A.Core.Alignment;
using U2A.Core.Data;
using U2A.Core.MisuseProbe;
using U2A.Core.Models;
using U2A.Core.Unlearning;
using TorchSharp;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Reliability.Misuse;

/// <summary>
/// Who owns the tensors a public method is given, as documented: constructors and <c>WithReference</c> of the batches take
/// ownership (and take nothing when they throw); <c>Select</c> and <c>To</c> return independent batches; objectives, terms
/// and losses borrow. A batch used after its tensors were disposed says so with <see cref="ObjectDisposedException"/>.
/// </summary>
public class OwnershipTests
{
    /// <summary>Log-probs -1 per sequence; from call number <paramref name="wrongFromCall"/> on, one row too few.</summary>
    private sealed class Policy(int wrongFromCall = int.MaxValue) : IReferencePolicy
    {
        private int _calls;

        public SequenceLogProbs LogProbs(TokenBatch batch)
        {
            int n = ++_calls >= wrongFromCall ? batch.Count - 1 : batch.Count;
            return new SequenceLogProbs(full(n, -1.0, dtype: ScalarType.Float64), full(n, 2.0, dtype: ScalarType.Float64));
        }
    }

    private static long Live => DisposeScopeManager.Statistics.ThreadTotalLiveCount;

    [Fact]
    public void TokenBatch_takes_the_three_tensors_when_it_succeeds_and_none_when_it_throws()
    {
        var (ids, att, resp) = MisuseWorld.Arrays(3, seed: 1);
        using (var batch = new TokenBatch(ids, att, resp))
            Assert.Same(ids, batch.InputIds);
        Assert.True(ids.IsInvalid && att.IsInvalid && resp.IsInvalid);

        var (ids2, att2, resp2) = MisuseWorld.Arrays(3, seed: 1);
        using var twice = att2 * 2;
        Assert.Throws<ArgumentException>(() => new TokenBatch(ids2, twice, resp2));
        Assert.False(ids2.IsInvalid || twice.IsInvalid || resp2.IsInvalid);
        ids2.Dispose(); att2.Dispose(); resp2.Dispose();
    }

    [Fact]
    public void ForgetBatch_WithReference_takes_the_tokens_and_disposes_them_with_itself()
    {
        var tokens = MisuseWorld.Batch(5, seed: 2);
        var pool = ForgetBatch.WithReference(tokens, new Policy(), chunkSize: 2);
        Assert.Same(tokens, pool.Tokens);
        Assert.Equal(5, pool.Reference!.Count);
        var (sum, count) = (pool.Reference.Sum, pool.Reference.TokenCount);
        pool.Dispose();
        Assert.True(tokens.IsDisposed);
        Assert.True(sum.IsInvalid && count.IsInvalid);
        // The caller disposing its old reference as well is harmless; using it is refused loudly, not with a native error.
        tokens.Dispose();
        Assert.Throws<ObjectDisposedException>(() => tokens.Select([0]));
    }

    [Fact]
    public void ForgetBatch_WithReference_takes_nothing_when_it_throws()
    {
        using var tokens = MisuseWorld.Batch(3, seed: 3);
        long before = Live;
        Assert.Throws<InvalidOperationException>(() => ForgetBatch.WithReference(tokens, new Policy(wrongFromCall: 2), chunkSize: 2));
        Assert.False(tokens.IsDisposed);
        Assert.Equal(before, Live); // the policy's first, valid chunk was freed too
        Assert.Equal(3, tokens.InputIds.shape[0]);
    }

    [Fact]
    public void PreferenceBatch_WithReference_takes_both_batches_or_neither()
    {
        var chosen = MisuseWorld.Batch(3, seed: 4);
        var rejected = MisuseWorld.Batch(3, seed: 5);
        using (var pairs = PreferenceBatch.WithReference(chosen, rejected, new Policy()))
            Assert.Equal(3, pairs.ReferenceRejected!.Count);
        Assert.True(chosen.IsDisposed && rejected.IsDisposed);

        using var c2 = MisuseWorld.Batch(3, seed: 4);
        using var r2 = MisuseWorld.Batch(3, seed: 5);
        long before = Live;
        // The chosen side's log-probs are computed, then the rejected side fails: the chosen ones are freed again.
        Assert.Throws<InvalidOperationException>(() => PreferenceBatch.WithReference(c2, r2, new Policy(wrongFromCall: 2)));
        Assert.False(c2.IsDisposed || r2.IsDisposed);
        Assert.Equal(before, Live);
    }

    [Fact]
    public void Select_returns_batches_independent_of_their_source()
    {
        var pool = ForgetBatch.WithReference(MisuseWorld.Batch(4, seed: 6), new Policy());
        var part = pool.Select([2, 0]);
        pool.Dispose();
        Assert.False(part.Tokens.IsDisposed);
        Assert.Equal(new[] { -1.0, -1.0 }, part.Reference!.Sum.data<double>().ToArray());
        var again = part.Select([1]);
        part.Dispose();
        Assert.Equal(1, again.Tokens.Select([0]).Count);
        again.Dispose();

        var pairs = new PreferenceBatch(MisuseWorld.Batch(3, seed: 7), MisuseWorld.Batch(3, seed: 8));
        var some = pairs.Select([1]);
        pairs.Dispose();
        Assert.False(some.Chosen.IsDisposed || some.Rejected.IsDisposed);
        some.Dispose();
    }

    [Fact]
    public void Objectives_terms_and_losses_borrow_what_they_are_given()
    {
        using var world = new MisuseWorld();
        using var retain = MisuseWorld.Batch(2, seed: 9);
        using var candidates = MisuseWorld.Batch(4, seed: 10);
        using var weights = world.Uniform(world.Pool.Count);
        using (NewDisposeScope())
        {
            new RetainNll(retain).Value(world.Model);
            using (var kl = new RetainKl(world.Model, retain)) kl.Value(world.Model);
            using (var reward = new RewardObjective(candidates, 2, new TokenRewardFunction((_, r) => r.Count))) reward.Objective(world.Model);
            new InnerObjective(new GradAscent()).Value(world.Model, world.Pool, weights);
            world.Dpo.Objective(world.Model);
            ResponseLogProbs.Compute(world.Model, retain);
        }
        Assert.False(retain.IsDisposed || candidates.IsDisposed || weights.IsInvalid);
        Assert.False(world.Pool.Tokens.IsDisposed || world.Preferences.Chosen.IsDisposed);
        Assert.Equal(2, retain.Select([0, 1]).Count);
    }
}
