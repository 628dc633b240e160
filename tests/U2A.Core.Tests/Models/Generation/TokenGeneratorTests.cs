using TorchSharp;
using U2A.Core.Models.Generation;
using U2A.Core.Models.Gpt2;
using U2A.Core.Models.Llama;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.ModelTestKit;

namespace U2A.Core.Tests.Models.Generation;

/// <summary>KV-cache decoding: the cached path reproduces full recomputation token for token; stop tokens, budgets,
/// seeded sampling and top-p behave as documented.</summary>
public class TokenGeneratorTests
{
    public static TheoryData<string> Architectures => new() { "gpt2", "llama", "qwen2" };

    private static ICachedCausalLM Create(string arch, long seed = 17) => arch switch
    {
        "gpt2" => new Gpt2LM(TinyGpt2, seed: seed),
        "llama" => new LlamaLM(TinyLlama, seed: seed),
        _ => new LlamaLM(TinyQwen2, seed: seed),
    };

    private static readonly IReadOnlyList<long>[] Prompts = { new long[] { 5, 6, 7 }, new long[] { 11, 12, 13, 14, 15, 16 }, new long[] { 40 } };

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Greedy_generation_with_kv_cache_equals_generation_without_cache(string arch)
    {
        using var scope = NewDisposeScope();
        using var model = Create(arch);
        var options = new GenerationOptions { MaxNewTokens = 10 };
        var cached = TokenGenerator.Generate(model, Prompts, options);
        var uncached = TokenGenerator.Generate(model, Prompts, options with { UseKvCache = false });
        for (int i = 0; i < Prompts.Length; i++)
        {
            Assert.Equal(10, cached.Tokens[i].Length);
            Assert.Equal(uncached.Tokens[i], cached.Tokens[i]);
        }
        // Each row of the batch generates what it generates alone (left padding does not leak).
        for (int i = 0; i < Prompts.Length; i++)
            Assert.Equal(TokenGenerator.Generate(model, new[] { Prompts[i] }, options).Tokens[0], cached.Tokens[i]);
        // Both equal greedy decoding written out here: the argmax of a full forward pass, one token at a time (so the
        // agreement above is not two runs of the same wrong choice).
        for (int i = 0; i < Prompts.Length; i++)
        {
            var ids = Prompts[i].ToList();
            for (int n = 0; n < 10; n++)
            {
                using var step = NewDisposeScope();
                var row = tensor(ids.ToArray()).unsqueeze(0);
                ids.Add(model.Forward(row, ones_like(row))[0, -1].argmax().item<long>());
            }
            Assert.Equal(ids.Skip(Prompts[i].Count), cached.Tokens[i]);
        }
    }

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Cached_forward_logits_equal_full_forward_logits(string arch)
    {
        using var scope = NewDisposeScope();
        using var model = Create(arch);
        var (ids, mask) = TokenGenerator.LeftPad(Prompts, 0);
        long t = ids.shape[1];
        var full = model.Forward(ids, mask);
        using var cache = new KvCache(model.LayerCount);
        var prefix = model.Forward(ids[.., ..(int)(t - 2)], mask[.., ..(int)(t - 2)], cache);
        var step1 = model.Forward(ids[.., (int)(t - 2)..(int)(t - 1)], mask[.., ..(int)(t - 1)], cache);
        var step2 = model.Forward(ids[.., (int)(t - 1)..], mask, cache);
        Assert.Equal(t, cache.Length);
        var stitched = cat(new[] { prefix, step1, step2 }, 1);
        for (int row = 0; row < ids.shape[0]; row++)
            Assert.True(MaxAbsDiff(RealLogits(stitched, mask, row), RealLogits(full, mask, row)) < 1e-5);
    }

    [Fact]
    public void Stop_tokens_end_a_sequence_and_are_kept()
    {
        using var scope = NewDisposeScope();
        using var model = Create("llama");
        var free = TokenGenerator.Generate(model, Prompts, new GenerationOptions { MaxNewTokens = 8 });
        long stop = free.Tokens[0][2];
        var stopped = TokenGenerator.Generate(model, Prompts, new GenerationOptions { MaxNewTokens = 8, StopTokens = new[] { stop } });
        for (int i = 0; i < Prompts.Length; i++)
        {
            int at = Array.IndexOf(free.Tokens[i], stop);
            if (at < 0)
            {
                Assert.False(stopped.Stopped[i]);
                Assert.Equal(free.Tokens[i], stopped.Tokens[i]);
            }
            else
            {
                Assert.True(stopped.Stopped[i]);
                Assert.Equal(free.Tokens[i][..(at + 1)], stopped.Tokens[i]);
            }
        }
        Assert.True(stopped.Stopped[0]);
        Assert.Equal(3, stopped.Tokens[0].Length);
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void Seeded_sampling_is_reproducible_and_cache_independent_and_tiny_top_p_is_greedy(string arch)
    {
        using var scope = NewDisposeScope();
        using var model = Create(arch);
        var sampling = new GenerationOptions { MaxNewTokens = 12, Temperature = 1.5, TopP = 0.9 };
        var a = TokenGenerator.Generate(model, Prompts, sampling, new Generator(123));
        var b = TokenGenerator.Generate(model, Prompts, sampling, new Generator(123));
        var noCache = TokenGenerator.Generate(model, Prompts, sampling with { UseKvCache = false }, new Generator(123));
        var other = TokenGenerator.Generate(model, Prompts, sampling, new Generator(124));
        var greedy = TokenGenerator.Generate(model, Prompts, new GenerationOptions { MaxNewTokens = 12 });
        for (int i = 0; i < Prompts.Length; i++)
        {
            Assert.Equal(a.Tokens[i], b.Tokens[i]);
            Assert.Equal(a.Tokens[i], noCache.Tokens[i]);
        }
        Assert.Contains(Enumerable.Range(0, Prompts.Length), i => !a.Tokens[i].SequenceEqual(other.Tokens[i]));
        Assert.Contains(Enumerable.Range(0, Prompts.Length), i => !a.Tokens[i].SequenceEqual(greedy.Tokens[i]));
        var nucleus = TokenGenerator.Generate(model, Prompts, sampling with { TopP = 1e-6 }, new Generator(7));
        for (int i = 0; i < Prompts.Length; i++) Assert.Equal(greedy.Tokens[i], nucleus.Tokens[i]);
    }

    [Fact]
    public void Invalid_requests_are_rejected()
    {
        using var scope = NewDisposeScope();
        using var model = Create("gpt2");
        var (ids, mask) = RightPad(new long[] { 1, 2, 3 }, new long[] { 4 });
        Assert.Throws<ArgumentException>(() => TokenGenerator.Generate(model, ids, mask, new GenerationOptions()));
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenGenerator.Generate(model, Prompts, new GenerationOptions { TopP = 0 }));
        // GPT-2 has n_positions = 32 learned positions.
        Assert.Throws<ArgumentException>(() => TokenGenerator.Generate(model, Prompts, new GenerationOptions { MaxNewTokens = 40 }));
    }
}
