using TorchSharp;
using U2A.Core.Models;
using U2A.Core.Models.Lora;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.LoraFixtures;

namespace U2A.Core.Tests.Models.Lora;

/// <summary>The forward-hook (two-branch) path, taken when the model invokes its layers through <c>call()</c>.</summary>
public class LoraCallPathTests
{
    private static readonly LoraOptions Targets = new() { TargetModules = new[] { "q_proj", "v_proj" }, Rank = 3, Alpha = 6, Seed = 1 };

    [Fact]
    public void Two_branch_path_matches_merged_weights_and_adapter_off_matches_base()
    {
        using var scope = NewDisposeScope();
        using var model = new CallStyleLM(Vocab, 6, seed: 2);
        using var batch = Batch();
        var baseLogits = model.Forward(batch.InputIds, batch.AttentionMask);
        using var lora = new LoraModel(model, Targets);
        Assert.Equal(0.0, MaxAbsDiff(baseLogits, lora.Forward(batch.InputIds, batch.AttentionMask)));
        Randomise(lora);
        var adapted = lora.Forward(batch.InputIds, batch.AttentionMask);
        Assert.True(MaxAbsDiff(baseLogits, adapted) > 1e-3);
        Assert.All(lora.Adapters, a => Assert.Equal(1, a.HookApplications)); // the hooks did the work
        using (lora.DisableAdapters())
            Assert.Equal(0.0, MaxAbsDiff(baseLogits, lora.Forward(batch.InputIds, batch.AttentionMask)));
        lora.Merge();
        Assert.True(MaxAbsDiff(adapted, lora.Forward(batch.InputIds, batch.AttentionMask)) <= 1e-12);
        lora.Unmerge();
        // The layer's standalone two-branch form agrees with what the hooks computed.
        var x = randn(new long[] { 3, 6 }, dtype: float64);
        var q = lora.Adapters[0];
        var manual = nn.functional.linear(x, q.Base.weight, q.Base.bias) + x.matmul(q.A.t()).matmul(q.B.t()) * q.Scale;
        Assert.True(MaxAbsDiff(manual, q.Forward(x)) <= 1e-12);
    }

    [Fact]
    public void Gradients_through_the_hook_path_reach_only_the_adapters()
    {
        using var scope = NewDisposeScope();
        using var model = new CallStyleLM(Vocab, 6, seed: 2);
        using var batch = Batch();
        using var lora = new LoraModel(model, Targets);
        Randomise(lora);
        var grads = autograd.grad(new[] { -ResponseLogProbs.Compute(lora, batch).Sum.sum() }, lora.TrainableParameters.Cast<Tensor>().ToArray());
        Assert.All(grads, g => Assert.True(g.abs().max().item<double>() > 0));
        Assert.All(model.parameters(), p => Assert.False(p.requires_grad));
    }

    [Fact]
    public void Adapter_dropout_acts_in_training_mode_only()
    {
        using var scope = NewDisposeScope();
        using var model = new CallStyleLM(Vocab, 6, seed: 2);
        using var batch = Batch();
        using var lora = new LoraModel(model, Targets with { Dropout = 0.5 });
        Randomise(lora);
        lora.SetTraining(false);
        var eval1 = lora.Forward(batch.InputIds, batch.AttentionMask);
        var eval2 = lora.Forward(batch.InputIds, batch.AttentionMask);
        Assert.Equal(0.0, MaxAbsDiff(eval1, eval2));
        lora.SetTraining(true);
        manual_seed(4);
        var train1 = lora.Forward(batch.InputIds, batch.AttentionMask);
        Assert.True(MaxAbsDiff(eval1, train1) > 1e-6, "dropout had no effect in training mode");
        using (lora.DisableAdapters())
            Assert.Equal(0.0, MaxAbsDiff(model.Forward(batch.InputIds, batch.AttentionMask), lora.Forward(batch.InputIds, batch.AttentionMask)));
    }

    [Fact]
    public void Call_style_layers_skip_the_effective_weight_after_the_first_forward_and_direct_ones_keep_it()
    {
        using var scope = NewDisposeScope();
        foreach (bool viaCall in new[] { true, false })
        {
            using var model = new CallStyleLM(Vocab, 6, seed: 2, viaCall);
            using var batch = Batch();
            using var lora = new LoraModel(model, Targets);
            Randomise(lora);
            var baseWeight = lora.Adapters[0].Base.weight;
            Assert.Null(lora.Adapters[0].UsesCallPath);
            var first = lora.Forward(batch.InputIds, batch.AttentionMask);
            Assert.False(ReferenceEquals(baseWeight, model.LastQWeight)); // the first forward also builds the effective weight
            Assert.All(lora.Adapters, a => Assert.Equal(viaCall, a.UsesCallPath));
            var second = lora.Forward(batch.InputIds, batch.AttentionMask);
            // A call() layer now runs with its frozen weight (the hooks add the adapter); a forward() layer still needs W + scale B A.
            Assert.Equal(viaCall, ReferenceEquals(baseWeight, model.LastQWeight));
            Assert.Same(baseWeight, lora.Adapters[0].Base.weight);
            Assert.Equal(0.0, MaxAbsDiff(first, second));
            lora.Merge();
            Assert.True(MaxAbsDiff(second, lora.Forward(batch.InputIds, batch.AttentionMask)) <= 1e-12);
        }
    }

    [Fact]
    public void A_call_layer_later_run_with_forward_is_repeated_with_the_effective_weight()
    {
        using var scope = NewDisposeScope();
        using var model = new CallStyleLM(Vocab, 6, seed: 2);
        using var batch = Batch();
        using var lora = new LoraModel(model, Targets);
        Randomise(lora);
        var adapted = lora.Forward(batch.InputIds, batch.AttentionMask);
        Assert.All(lora.Adapters, a => Assert.True(a.UsesCallPath));
        model.ViaCall = false;
        Assert.True(MaxAbsDiff(adapted, lora.Forward(batch.InputIds, batch.AttentionMask)) <= 1e-12);
        Assert.All(lora.Adapters, a => Assert.False(a.UsesCallPath));
    }

    [Fact]
    public void Base_weights_are_restored_when_the_forward_throws()
    {
        using var scope = NewDisposeScope();
        foreach (bool viaCall in new[] { true, false })
        {
            using var model = new CallStyleLM(Vocab, 6, seed: 2, viaCall);
            using var batch = Batch();
            var baseLogits = model.Forward(batch.InputIds, batch.AttentionMask);
            using var lora = new LoraModel(model, Targets);
            Randomise(lora);
            var weights = lora.Adapters.Select(a => a.Base.weight).ToArray();
            var adapted = lora.Forward(batch.InputIds, batch.AttentionMask);
            model.ThrowMidway = true;
            Assert.Throws<InvalidOperationException>(() => lora.Forward(batch.InputIds, batch.AttentionMask));
            model.ThrowMidway = false;
            for (int i = 0; i < weights.Length; i++) Assert.Same(weights[i], lora.Adapters[i].Base.weight);
            Assert.Equal(0.0, MaxAbsDiff(baseLogits, model.Forward(batch.InputIds, batch.AttentionMask)));
            Assert.Equal(0.0, MaxAbsDiff(adapted, lora.Forward(batch.InputIds, batch.AttentionMask)));
        }
    }
}
