using U2A.Testing;
using U2A.Core.Tests.Models;
using TorchSharp;
using U2A.Core.Models;
using U2A.Core.Models.Lora;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.LoraFixtures;

namespace U2A.Core.Tests.Models.Lora;

public class LoraModelTests
{
    private static readonly LoraOptions TinyTargets = new() { TargetModules = new[] { "c_attn", "c_fc" }, Rank = 2, Alpha = 4, Seed = 5 };

    [Fact]
    public void Injection_finds_targets_by_last_path_segment_in_numeric_path_order()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        using var lora = new LoraModel(model, TinyTargets);
        Assert.Equal(new[] { "blocks.0.c_attn", "blocks.0.c_fc", "blocks.1.c_attn", "blocks.1.c_fc" }, lora.Adapters.Select(a => a.Path));
        Assert.Equal(lora.Adapters.SelectMany(a => new[] { a.A, a.B }), lora.TrainableParameters);
        var first = lora.Adapters[0];
        Assert.Equal(new long[] { 2, 8 }, first.A.shape);
        Assert.Equal(new long[] { 24, 2 }, first.B.shape);
        Assert.Equal(2.0, first.Scale);
        Assert.Equal(0.0, first.B.abs().max().item<double>());
        Assert.True(first.A.abs().max().item<double>() > 0);
        Assert.True(ModulePathComparer.Instance.Compare("blocks.2.q_proj", "blocks.10.q_proj") < 0);
    }

    [Fact]
    public void Seeded_initialisation_is_reproducible()
    {
        using var scope = NewDisposeScope();
        using var m1 = Tiny();
        using var m2 = Tiny();
        using var l1 = new LoraModel(m1, TinyTargets);
        using var l2 = new LoraModel(m2, TinyTargets);
        using var l3 = new LoraModel(Tiny(), TinyTargets with { Seed = 6 });
        Assert.Equal(0.0, MaxAbsDiff(l1.Adapters[3].A, l2.Adapters[3].A));
        Assert.True(MaxAbsDiff(l1.Adapters[3].A, l3.Adapters[3].A) > 0);
    }

    [Fact]
    public void Zero_initialised_B_gives_the_base_logits_exactly()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        using var batch = Batch();
        var baseLogits = model.Forward(batch.InputIds, batch.AttentionMask);
        using var lora = new LoraModel(model, TinyTargets);
        var logits = lora.Forward(batch.InputIds, batch.AttentionMask);
        Assert.Equal(0.0, MaxAbsDiff(baseLogits, logits));
    }

    [Fact]
    public void Adapters_change_the_parent_forward_and_adapter_off_scope_gives_the_base_exactly()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        using var batch = Batch();
        var baseLogits = model.Forward(batch.InputIds, batch.AttentionMask);
        using var lora = new LoraModel(model, TinyTargets);
        Randomise(lora);
        var adapted = lora.Forward(batch.InputIds, batch.AttentionMask);
        Assert.True(MaxAbsDiff(baseLogits, adapted) > 1e-3, "the adapters did not reach the parent's forward");
        // The base model called directly is unaffected by the adapters.
        Assert.Equal(0.0, MaxAbsDiff(baseLogits, model.Forward(batch.InputIds, batch.AttentionMask)));
        using (lora.DisableAdapters())
        {
            Assert.False(lora.AdaptersEnabled);
            using (lora.DisableAdapters()) { }
            Assert.False(lora.AdaptersEnabled); // nested scope restores the outer state
            Assert.Equal(0.0, MaxAbsDiff(baseLogits, lora.Forward(batch.InputIds, batch.AttentionMask)));
        }
        Assert.True(lora.AdaptersEnabled);
        Assert.Equal(0.0, MaxAbsDiff(adapted, lora.Forward(batch.InputIds, batch.AttentionMask)));
    }

    [Fact]
    public void Merged_equals_unmerged_and_unmerge_restores_the_base_weights_bit_for_bit()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        using var batch = Batch();
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        using var lora = new LoraModel(model, TinyTargets);
        Randomise(lora);
        var unmerged = lora.Forward(batch.InputIds, batch.AttentionMask);
        lora.Merge();
        Assert.True(lora.IsMerged);
        var merged = lora.Forward(batch.InputIds, batch.AttentionMask);
        Assert.True(MaxAbsDiff(unmerged, merged) <= 1e-6);
        // The merged weights are in the base model itself now.
        Assert.True(MaxAbsDiff(model.Forward(batch.InputIds, batch.AttentionMask), merged) <= 1e-12);
        Assert.Throws<InvalidOperationException>(() => lora.DisableAdapters());
        lora.Unmerge();
        Assert.False(lora.IsMerged);
        foreach (var (name, value) in model.state_dict())
            Assert.True(MaxAbsDiff(before[name], value) == 0, $"{name} not restored exactly");
        Assert.Equal(0.0, MaxAbsDiff(unmerged, lora.Forward(batch.InputIds, batch.AttentionMask)));
    }

    [Fact]
    public void Only_the_adapters_are_trainable_and_dispose_restores_the_base()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        using var batch = Batch();
        var lora = new LoraModel(model, TinyTargets);
        Randomise(lora);
        Assert.Equal(8, lora.TrainableParameters.Count);
        Assert.All(model.parameters(), p => Assert.False(p.requires_grad));
        Assert.All(lora.TrainableParameters, p => Assert.True(p.requires_grad));
        var loss = -ResponseLogProbs.Compute(lora, batch).Sum.sum();
        loss.backward();
        foreach (var (name, p) in model.named_parameters())
        {
            using var g = p.grad;
            Assert.True(g is null || g.IsInvalid, $"base parameter {name} received a gradient");
        }
        foreach (var p in lora.TrainableParameters)
        {
            using var g = p.grad;
            Assert.True(g is not null && !g.IsInvalid && g.abs().max().item<double>() > 0, "an adapter received no gradient");
        }
        var adapted = lora.Forward(batch.InputIds, batch.AttentionMask);
        lora.Dispose();
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
        Assert.True(MaxAbsDiff(adapted, model.Forward(batch.InputIds, batch.AttentionMask)) > 1e-3);
    }

    [Fact]
    public void Hessian_vector_product_wrt_adapters_matches_central_finite_differences_in_float64()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        using var batch = Batch();
        using var lora = new LoraModel(model, TinyTargets);
        Randomise(lora);
        HvpCheck.AssertMatchesFiniteDifferences(lora.TrainableParameters.Cast<Tensor>().ToArray(),
            () => -ResponseLogProbs.Compute(lora, batch).Sum.sum());
    }

    [Fact]
    public void Reference_policy_with_adapters_off_equals_the_base_model_log_probs()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        using var batch = Batch();
        var expected = ResponseLogProbs.Compute(model, batch);
        using var lora = new LoraModel(model, TinyTargets);
        Randomise(lora);
        var adapted = ResponseLogProbs.Compute(lora, batch);
        Assert.True(MaxAbsDiff(adapted.Sum, expected.Sum) > 1e-4);
        IReferencePolicy reference = lora.AsReferencePolicy();
        var lp = reference.LogProbs(batch);
        Assert.False(lp.Sum.requires_grad);
        Assert.Equal(0.0, MaxAbsDiff(expected.Sum, lp.Sum));
        Assert.Equal(0.0, MaxAbsDiff(expected.TokenCount, lp.TokenCount));
        Assert.True(lora.AdaptersEnabled);
    }

    [Fact]
    public void Bad_options_raise_messages_naming_the_field()
    {
        void Check(LoraOptions o, string field)
        {
            var e = Assert.ThrowsAny<ArgumentException>(() => o.Validate());
            Assert.Equal("LoraOptions." + field, e.ParamName);
            Assert.Contains("LoraOptions." + field, e.Message);
        }
        var ok = new LoraOptions { TargetModules = new[] { "c_attn" } };
        ok.Validate();
        Check(ok with { Rank = 0 }, nameof(LoraOptions.Rank));
        Check(ok with { Alpha = 0 }, nameof(LoraOptions.Alpha));
        Check(ok with { Alpha = double.NaN }, nameof(LoraOptions.Alpha));
        Check(ok with { Dropout = 1 }, nameof(LoraOptions.Dropout));
        Check(ok with { Dropout = -0.1 }, nameof(LoraOptions.Dropout));
        Check(ok with { TargetModules = Array.Empty<string>() }, nameof(LoraOptions.TargetModules));
        Check(ok with { TargetModules = new[] { "blocks.0.c_attn" } }, nameof(LoraOptions.TargetModules));
        Check(ok with { TargetModules = new[] { "c_attn", "c_attn" } }, nameof(LoraOptions.TargetModules));

        using var scope = NewDisposeScope();
        using var model = Tiny();
        var e = Assert.Throws<ArgumentException>(() => new LoraModel(model, ok with { TargetModules = new[] { "c_attn", "q_proj" } }));
        Assert.Contains("LoraOptions.TargetModules", e.Message);
        Assert.Contains("q_proj", e.Message);
        Assert.Contains("c_proj", e.Message); // lists the names that exist
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad)); // a failed injection leaves the model alone
        Assert.ThrowsAny<ArgumentException>(() => new LoraModel(model, ok with { Rank = -1 }));
    }

    [Fact]
    public void Dropout_in_training_needs_call_style_layers()
    {
        using var scope = NewDisposeScope();
        using var model = new CallStyleLM(Vocab, 6, seed: 2, viaCall: false);
        using var batch = Batch();
        using var lora = new LoraModel(model, new LoraOptions { TargetModules = new[] { "q_proj", "v_proj" }, Rank = 2, Alpha = 4, Dropout = 0.1 });
        lora.SetTraining(false);
        lora.Forward(batch.InputIds, batch.AttentionMask); // evaluation mode: no dropout, fine
        lora.SetTraining(true);
        var e = Assert.Throws<InvalidOperationException>(() => lora.Forward(batch.InputIds, batch.AttentionMask));
        Assert.Contains("LoraOptions.Dropout", e.Message);
        Assert.Contains("q_proj", e.Message);
    }

    [Fact]
    public void The_library_models_run_adapters_through_the_hooks_with_dropout()
    {
        using var scope = NewDisposeScope();
        using var model = Tiny();
        using var batch = Batch();
        using var lora = new LoraModel(model, TinyTargets with { Dropout = 0.1 });
        Randomise(lora);
        lora.SetTraining(true);
        manual_seed(3);
        var train = lora.Forward(batch.InputIds, batch.AttentionMask); // threw before TinyTransformerLM used call()
        Assert.All(lora.Adapters, a => Assert.True(a.UsesCallPath));
        lora.SetTraining(false);
        Assert.True(MaxAbsDiff(train, lora.Forward(batch.InputIds, batch.AttentionMask)) > 1e-6, "dropout had no effect in training mode");
    }
}
