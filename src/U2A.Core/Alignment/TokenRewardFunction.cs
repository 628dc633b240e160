using U2A.Core.Data;
using static TorchSharp.torch;

namespace U2A.Core.Alignment;

/// <summary>
/// An <see cref="IRewardModel"/> from a function of token ids: <c>r = f(prompt tokens, response tokens)</c>, where the response
/// tokens are those under the batch's response mask and the prompt tokens the real tokens before the first of them.
/// </summary>
public sealed class TokenRewardFunction : IRewardModel
{
    private readonly Func<IReadOnlyList<long>, IReadOnlyList<long>, double> _reward;

    /// <summary>Wraps <paramref name="reward"/>(promptTokens, responseTokens).</summary>
    public TokenRewardFunction(Func<IReadOnlyList<long>, IReadOnlyList<long>, double> reward)
        => _reward = reward ?? throw new ArgumentNullException(nameof(reward));

    /// <inheritdoc />
    public Tensor Rewards(TokenBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        using var scope = NewDisposeScope();
        var ids = batch.InputIds.cpu().data<long>().ToArray();
        var attention = batch.AttentionMask.cpu().data<long>().ToArray();
        var response = batch.ResponseMask.cpu().data<long>().ToArray();
        int t = batch.Length;
        var rewards = new double[batch.Count];
        for (int b = 0; b < batch.Count; b++)
        {
            var prompt = new List<long>();
            var reply = new List<long>();
            for (int i = b * t; i < (b + 1) * t; i++)
            {
                if (response[i] != 0) reply.Add(ids[i]);
                else if (attention[i] != 0 && reply.Count == 0) prompt.Add(ids[i]);
            }
            rewards[b] = _reward(prompt, reply);
        }
        return tensor(rewards).MoveToOuterDisposeScope();
    }
}
