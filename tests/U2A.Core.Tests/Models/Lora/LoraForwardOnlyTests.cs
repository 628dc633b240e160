using U2A.Core.Models.Lora;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.LoraFixtures;

namespace U2A.Core.Tests.Models.Lora;

/// <summary>
/// <see cref="LoraModel.ForwardOnly"/>: the adapters merged once for a scope of forward-only passes, which must give the
/// two-branch logits, restore the base weights bit for bit and the gradient mode, and step aside where merging would be wrong.
/// </summary>
public class LoraForwardOnlyTests
{
    private static readonly LoraOptions Targets = new() { TargetModules = new[] { "c_attn", "c_fc" }, Rank = 2, Alpha = 4, Seed = 5 };

    [Fact]
    public void The_scope_merges_once_gives_the_two_branch_logits_and_restores_weights_and_gradient_mode()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        using var batch = Batch();
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        using var lora = new LoraModel(model, Targets);
        Randomise(lora);
        var twoBranch = lora.Forward(batch.InputIds, batch.AttentionMask).detach();
        Assert.True(is_grad_enabled());
        using (lora.ForwardOnly())
        {
            Assert.True(lora.IsMerged);
            Assert.False(is_grad_enabled());
            var merged = lora.Forward(batch.InputIds, batch.AttentionMask);
            Assert.True(MaxAbsDiff(twoBranch, merged) <= 1e-12, $"merged vs two-branch: {MaxAbsDiff(twoBranch, merged):G3}");
            // The merged weights are in the base model's own layers: its plain forward is the same, bit for bit.
            Assert.Equal(0.0, MaxAbsDiff(model.Forward(batch.InputIds, batch.AttentionMask), merged));
        }
        Assert.False(lora.IsMerged);
        Assert.True(is_grad_enabled());
        foreach (var (name, value) in model.state_dict())
            Assert.True(MaxAbsDiff(before[name], value) == 0, $"{name} not restored exactly");
        Assert.Equal(0.0, MaxAbsDiff(twoBranch, lora.Forward(batch.InputIds, batch.AttentionMask).detach()));
    }

    [Fact]
    public void A_change_of_A_and_B_takes_effect_in_the_next_scope()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        using var batch = Batch();
        using var lora = new LoraModel(model, Targets);
        Randomise(lora);
        Tensor first;
        using (lora.ForwardOnly()) first = lora.Forward(batch.InputIds, batch.AttentionMask);
        Randomise(lora, seed: 12);
        var expected = lora.Forward(batch.InputIds, batch.AttentionMask).detach();
        Tensor second;
        using (lora.ForwardOnly()) second = lora.Forward(batch.InputIds, batch.AttentionMask);
        Assert.True(MaxAbsDiff(first, second) > 1e-3);
        Assert.True(MaxAbsDiff(expected, second) <= 1e-12);
    }

    [Fact]
    public void Disabling_the_adapters_inside_the_scope_gives_the_base_model_and_merges_again_after()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        using var batch = Batch();
        var baseLogits = model.Forward(batch.InputIds, batch.AttentionMask).detach();
        using var lora = new LoraModel(model, Targets);
        Randomise(lora);
        var adapted = lora.Forward(batch.InputIds, batch.AttentionMask).detach();
        using (lora.ForwardOnly())
        {
            using (lora.DisableAdapters())
            {
                Assert.False(lora.IsMerged);
                Assert.Equal(0.0, MaxAbsDiff(baseLogits, lora.Forward(batch.InputIds, batch.AttentionMask)));
            }
            Assert.True(lora.IsMerged);
            Assert.True(MaxAbsDiff(adapted, lora.Forward(batch.InputIds, batch.AttentionMask)) <= 1e-12);
        }
        Assert.False(lora.IsMerged);
        Assert.Equal(0.0, MaxAbsDiff(baseLogits, model.Forward(batch.InputIds, batch.AttentionMask).detach()));
    }

    [Fact]
    public void Dropout_in_training_mode_and_an_explicit_merge_are_left_as_they_are()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        using (var dropout = new LoraModel(model, Targets with { Dropout = 0.5 }))
        {
            dropout.SetTraining(true);
            using (dropout.ForwardOnly())
            {
                Assert.False(dropout.IsMerged); // merging would drop the dropout of the two-branch form
                Assert.False(is_grad_enabled());
            }
            dropout.SetTraining(false);
            using (dropout.ForwardOnly()) Assert.True(dropout.IsMerged);
        }
        using var lora = new LoraModel(model, Targets);
        lora.Merge();
        using (lora.ForwardOnly()) Assert.True(lora.IsMerged);
        Assert.True(lora.IsMerged); // the scope did not merge, so it does not unmerge
        Assert.Throws<InvalidOperationException>(() => lora.DisableAdapters());
        lora.Unmerge();
    }

    [Fact]
    public void An_exception_inside_the_scope_still_restores_the_base_weights()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        using var lora = new LoraModel(model, Targets);
        Randomise(lora);
        void Fail()
        {
            using (lora.ForwardOnly()) throw new InvalidOperationException("midway");
        }
        Assert.Throws<InvalidOperationException>(Fail);
        Assert.False(lora.IsMerged);
        Assert.True(is_grad_enabled());
        foreach (var (name, value) in model.state_dict())
            Assert.True(MaxAbsDiff(before[name], value) == 0, $"{name} not restored exactly");
    }

    [Fact]
    public void A_graph_built_before_the_scope_can_still_be_differentiated_after_it()
    {
        // The scope never writes the base weights (a merged copy stands in each layer's weight slot), so the version
        // counters autograd checks for tensors saved in earlier graphs do not move.
        using var scope = NewDisposeScope();
        using var model = Tiny();
        using var batch = Batch();
        using var lora = new LoraModel(model, Targets);
        Randomise(lora);
        var parameters = lora.TrainableParameters.Cast<Tensor>().ToArray();
        var loss = lora.Forward(batch.InputIds, batch.AttentionMask).pow(2).mean();
        var expected = autograd.grad(new[] { loss }, parameters, retain_graph: true);
        using (lora.ForwardOnly()) lora.Forward(batch.InputIds, batch.AttentionMask);
        var after = autograd.grad(new[] { loss }, parameters);
        for (int i = 0; i < parameters.Length; i++) Assert.Equal(0.0, MaxAbsDiff(expected[i], after[i]));
    }

    [Fact]
    public void Merge_and_unmerge_inside_the_scope_are_refused_and_the_scope_keeps_its_copies_through_a_disable()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        using var batch = Batch();
        using var lora = new LoraModel(model, Targets);
        Randomise(lora);
        var adapted = lora.Forward(batch.InputIds, batch.AttentionMask).detach();
        using (lora.ForwardOnly())
        {
            Assert.Contains("inside a ForwardOnly() scope", Assert.Throws<InvalidOperationException>(() => lora.Merge()).Message);
            Assert.Contains("inside a ForwardOnly() scope", Assert.Throws<InvalidOperationException>(() => lora.Unmerge()).Message);
            Randomise(lora, seed: 21); // a change of A and B inside the scope takes effect only in the next scope
            using (lora.DisableAdapters()) { }
            Assert.True(MaxAbsDiff(adapted, lora.Forward(batch.InputIds, batch.AttentionMask)) <= 1e-12);
        }
        Assert.False(lora.IsMerged);
        Assert.True(MaxAbsDiff(adapted, lora.Forward(batch.InputIds, batch.AttentionMask).detach()) > 1e-3);
    }
}
