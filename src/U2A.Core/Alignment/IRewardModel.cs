using U2A.Core.Data;
using static TorchSharp.torch;

namespace U2A.Core.Alignment;

/// <summary>
/// A reward model: one scalar reward per (prompt, response) sequence of a batch. It can be a trained model
/// (a backbone and a scalar head) or a known reward function (<see cref="TokenRewardFunction"/>).
/// </summary>
public interface IRewardModel
{
    /// <summary>Rewards [B] (floating point, any device, no autograd graph needed) for the sequences of <paramref name="batch"/>.</summary>
    Tensor Rewards(TokenBatch batch);
}
