using TorchSharp;
using static TorchSharp.torch;

namespace U2A.Core.Models.Generation;

/// <summary>
/// Autoregressive decoding for a batch of left-padded prompts: greedy or temperature / top-p sampling, stop tokens and a
/// token budget, with a <see cref="KvCache"/> so each step feeds only the newest token. Sampling draws from a seeded CPU
/// <see cref="Generator"/>, so a seed gives the same samples on every device.
/// </summary>
public static class TokenGenerator
{
    /// <summary>Left-pads <paramref name="prompts"/> into ids [B, T] and an attention mask [B, T] on <paramref name="device"/>.</summary>
    public static (Tensor InputIds, Tensor AttentionMask) LeftPad(IReadOnlyList<IReadOnlyList<long>> prompts, long padTokenId, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0 || prompts.Any(p => p.Count == 0)) throw new ArgumentException("every prompt needs at least one token.", nameof(prompts));
        int b = prompts.Count, t = prompts.Max(p => p.Count);
        var ids = new long[b * t];
        var mask = new long[b * t];
        for (int i = 0; i < b; i++)
        {
            int offset = t - prompts[i].Count;
            for (int j = 0; j < t; j++)
            {
                bool real = j >= offset;
                ids[i * t + j] = real ? prompts[i][j - offset] : padTokenId;
                mask[i * t + j] = real ? 1 : 0;
            }
        }
        return (tensor(ids, new long[] { b, t }, device: device), tensor(mask, new long[] { b, t }, device: device));
    }

    /// <summary>Generates from token-id prompts (left-padded here with <see cref="GenerationOptions.PadTokenId"/>).</summary>
    public static GenerationResult Generate(ICachedCausalLM model, IReadOnlyList<IReadOnlyList<long>> prompts, GenerationOptions options, Generator? generator = null)
    {
        using var scope = NewDisposeScope();
        var (ids, mask) = LeftPad(prompts, options.PadTokenId, model.Device);
        return Generate(model, ids, mask, options, generator);
    }

    /// <summary>
    /// Generates from left-padded prompts <paramref name="inputIds"/> [B, T] with <paramref name="attentionMask"/> [B, T]
    /// (the last column must be real in every row). Sampling (temperature &gt; 0) uses <paramref name="generator"/>, a CPU
    /// generator (a fresh one seeded 0 when null). Runs without gradients, with the fused attention kernel, and a
    /// <see cref="Lora.LoraModel"/> merged once for the call (<see cref="Lora.LoraModel.ForwardOnly"/>).
    /// </summary>
    public static GenerationResult Generate(ICachedCausalLM model, Tensor inputIds, Tensor attentionMask, GenerationOptions options, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (inputIds.dim() != 2 || !inputIds.shape.SequenceEqual(attentionMask.shape))
            throw new ArgumentException($"inputIds and attentionMask must both be [B, T], got [{string.Join(", ", inputIds.shape)}] and [{string.Join(", ", attentionMask.shape)}].");
        using var scope = NewDisposeScope();
        using var forwardOnly = ForwardOnlyPasses.Enter(model); // no gradients; a LoRA model merged once for the whole generation
        var device = model.Device;
        var ids = inputIds.to(device).to_type(ScalarType.Int64);
        var mask = attentionMask.to(device).to_type(ScalarType.Int64);
        if (!mask[.., -1].eq(1).all().item<bool>())
            throw new ArgumentException("prompts must be left-padded: the last column of attentionMask must be 1 in every row.", nameof(attentionMask));
        if (generator is not null && generator.device.type != DeviceType.CPU)
            throw new ArgumentException("the sampling generator must be a CPU generator.", nameof(generator));
        generator ??= new Generator(0);

        int b = (int)ids.shape[0];
        var tokens = Enumerable.Range(0, b).Select(_ => new List<long>()).ToArray();
        var stopped = new bool[b]; // a row stops (and then only receives padding) once it emits a stop token
        var stopTokens = new HashSet<long>(options.StopTokens);
        using var cache = options.UseKvCache ? new KvCache(model.LayerCount) : null;
        var step = ids;
        for (int n = 0; n < options.MaxNewTokens; n++)
        {
            using var stepScope = NewDisposeScope();
            var logits = options.UseKvCache ? model.Forward(step, mask, cache) : model.Forward(ids, mask);
            // One device-to-host copy per step; stopping and padding of finished rows are decided on the host.
            var nextHost = Choose(logits[.., -1].to_type(ScalarType.Float32), options, generator).cpu().data<long>().ToArray();
            bool anyStopped = false;
            for (int i = 0; i < b; i++)
            {
                if (stopped[i]) { nextHost[i] = options.PadTokenId; continue; }
                tokens[i].Add(nextHost[i]);
                if (stopTokens.Contains(nextHost[i])) stopped[i] = anyStopped = true;
            }
            if (anyStopped && stopped.All(s => s)) break;
            step = tensor(nextHost, new long[] { b, 1 }, device: device).MoveToOuterDisposeScope();
            ids = cat(new[] { ids, step }, 1).MoveToOuterDisposeScope();
            mask = cat(new[] { mask, ones(b, 1, dtype: ScalarType.Int64, device: device) }, 1).MoveToOuterDisposeScope();
        }
        return new GenerationResult(tokens.Select(t => t.ToArray()).ToArray(), stopped);
    }

    /// <summary>The next token per row from last-position logits [B, V]: argmax, or a temperature / top-p sample.</summary>
    private static Tensor Choose(Tensor logits, GenerationOptions options, Generator generator)
    {
        if (options.Temperature == 0) return logits.argmax(-1);
        var probs = logits.div(options.Temperature).softmax(-1).cpu();
        if (options.TopP < 1)
        {
            var (sorted, order) = probs.sort(-1, descending: true);
            // Drop a token when the tokens more likely than it already reach TopP (the most likely token always stays).
            var drop = (sorted.cumsum(-1) - sorted).gt(options.TopP);
            probs = zeros_like(probs).scatter(-1, order, sorted.masked_fill(drop, 0));
        }
        return multinomial(probs, 1, generator: generator).squeeze(-1);
    }
}
