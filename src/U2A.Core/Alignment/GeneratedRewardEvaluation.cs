namespace U2A.Core.Alignment;

/// <summary>How <see cref="RewardObjective"/> reports its score: the mean reward of generated responses to held-out prompts.</summary>
/// <param name="Prompts">Held-out prompts.</param>
/// <param name="Generate">The response generator.</param>
/// <param name="Reward">The reward of one generated response.</param>
public sealed record GeneratedRewardEvaluation(IReadOnlyList<string> Prompts, ResponseGenerator Generate, TextReward Reward)
{
    /// <summary>Throws when a field is missing or empty, naming it.</summary>
    public void Validate()
    {
        if (Prompts is null || Prompts.Count == 0) throw new ArgumentException("GeneratedRewardEvaluation.Prompts must hold at least one prompt.", nameof(Prompts));
        if (Generate is null) throw new ArgumentNullException(nameof(Generate), "GeneratedRewardEvaluation.Generate must not be null.");
        if (Reward is null) throw new ArgumentNullException(nameof(Reward), "GeneratedRewardEvaluation.Reward must not be null.");
    }
}
