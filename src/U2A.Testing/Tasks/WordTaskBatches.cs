using U2A.Core.Data;
using U2A.Core.Models;
using U2A.Core.Tokenization;
using static TorchSharp.torch;

namespace U2A.Testing;

/// <summary>Batching and greedy decoding shared by the word-level tasks of this kit.</summary>
internal static class WordTaskBatches
{
    /// <summary>Tokenises prompt/response pairs into a right-padded batch on <paramref name="device"/>.</summary>
    public static TokenBatch Collate(PromptResponseEncoder encoder, int padId, IReadOnlyList<(string Prompt, string Response)> examples, Device? device)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0) throw new ArgumentException("at least one (prompt, response) pair is needed.", nameof(examples));
        for (int i = 0; i < examples.Count; i++)
            if (examples[i].Prompt is null || examples[i].Response is null)
                throw new ArgumentException($"examples[{i}] has a null {(examples[i].Prompt is null ? "prompt" : "response")}.", nameof(examples));
        var encoded = examples.Select(e => encoder.Encode(e.Prompt, e.Response)).ToArray();
        int length = encoded.Max(e => e.Length);
        var ids = new long[encoded.Length, length];
        var attention = new long[encoded.Length, length];
        var response = new long[encoded.Length, length];
        for (int i = 0; i < encoded.Length; i++)
        {
            for (int t = 0; t < length; t++)
            {
                bool real = t < encoded[i].Length;
                ids[i, t] = real ? encoded[i].Ids[t] : padId;
                attention[i, t] = real ? 1 : 0;
                response[i, t] = real && t >= encoded[i].ResponseStart ? 1 : 0;
            }
        }
        return new TokenBatch(tensor(ids, device: device), tensor(attention, device: device), tensor(response, device: device));
    }

    /// <summary>Greedy responses (up to <paramref name="maxNewTokens"/> tokens, stopping at EOS) for prompts, batched with left padding.</summary>
    public static IReadOnlyList<string> Generate(ICausalLM model, WordTokenizer tokenizer, IReadOnlyList<string> prompts, int maxNewTokens, CancellationToken cancellationToken)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var encoded = prompts.Select(p => new[] { tokenizer.BosId!.Value }.Concat(tokenizer.Encode(p)).ToArray()).ToArray();
        int length = encoded.Max(e => e.Length);
        var ids = new long[prompts.Count, length];
        var attention = new long[prompts.Count, length];
        for (int i = 0; i < encoded.Length; i++)
            for (int t = 0; t < encoded[i].Length; t++)
            {
                ids[i, length - encoded[i].Length + t] = encoded[i][t];
                attention[i, length - encoded[i].Length + t] = 1;
            }
        var x = tensor(ids, device: model.Device);
        var mask = tensor(attention, device: model.Device);
        var outputs = Enumerable.Range(0, prompts.Count).Select(_ => new List<int>()).ToArray();
        var done = new bool[prompts.Count];
        for (int step = 0; step < maxNewTokens && !done.All(d => d); step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var next = model.Forward(x, mask)[.., -1].argmax(-1);
            var values = next.cpu().data<long>().ToArray();
            for (int i = 0; i < values.Length; i++)
            {
                if (done[i]) continue;
                if (values[i] == tokenizer.EosId) done[i] = true;
                else outputs[i].Add((int)values[i]);
            }
            x = cat(new[] { x, next.unsqueeze(1) }, 1);
            mask = cat(new[] { mask, ones(prompts.Count, 1, dtype: ScalarType.Int64, device: model.Device) }, 1);
        }
        return outputs.Select(o => tokenizer.Decode(o)).ToArray();
    }
}
