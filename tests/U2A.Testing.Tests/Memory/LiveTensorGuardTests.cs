using Xunit;
using static TorchSharp.torch;

namespace U2A.Testing.Tests.Memory;

public class LiveTensorGuardTests
{
    [Fact]
    public void Work_that_disposes_its_tensors_passes()
    {
        using var model = TinyModels.Gpt2(0);
        using var batch = TinyBatches.Random(2, TinyModels.DefaultVocabularySize, seed: 0);
        using (var guard = LiveTensorGuard.Start())
        {
            using var scope = NewDisposeScope();
            model.Forward(batch.InputIds, batch.AttentionMask).sum().backward();
            scope.Dispose();
            foreach (var p in model.TrainableParameters) { p.grad?.Dispose(); p.grad = null; }
            Assert.Equal(0, guard.Growth);
        }
    }

    [Fact]
    public void A_leaking_loop_fails_and_says_how_many_tensors_it_left()
    {
        var leaked = new List<Tensor>();
        try
        {
            var ex = Assert.Throws<U2ACheckException>(() =>
            {
                using var guard = LiveTensorGuard.Start(label: "the leaking loop");
                for (int i = 0; i < 3; i++) leaked.Add(ones(2) * i); // ones(2) and the product: two live tensors per iteration
            });
            Assert.Contains("the leaking loop left 6 more live tensors", ex.Message);
        }
        finally
        {
            foreach (var t in leaked) t.Dispose();
        }
    }

    [Fact]
    public void An_allowance_admits_that_many_tensors()
    {
        Tensor? kept = null;
        using (var guard = LiveTensorGuard.Start(allowedGrowth: 1))
            kept = zeros(3);
        kept.Dispose();
    }

    [Fact]
    public void Repeated_work_that_leaks_every_iteration_fails_listing_the_counts()
    {
        var leaked = new List<Tensor>();
        try
        {
            var ex = Assert.Throws<U2ACheckException>(() => LiveTensorGuard.CheckNoSteadyGrowth(() =>
            {
                using var scope = NewDisposeScope();
                var x = ones(4) * 2;
                leaked.Add(x.sum().DetachFromDisposeScope()); // one tensor escapes each call
            }, iterations: 5));
            Assert.Contains("grew by 5 over 5 iterations", ex.Message);
        }
        finally
        {
            foreach (var t in leaked) t.Dispose();
        }
    }

    [Fact]
    public void Repeated_work_that_fills_a_cache_once_passes_after_warm_up()
    {
        Tensor? cache = null;
        var counts = LiveTensorGuard.CheckNoSteadyGrowth(() =>
        {
            cache ??= ones(8);
            using var scope = NewDisposeScope();
            _ = (cache * 3).sum();
        }, iterations: 4, warmUpIterations: 1);
        Assert.Equal(5, counts.Length);
        Assert.All(counts, c => Assert.Equal(counts[0], c));
        cache!.Dispose();
    }
}
