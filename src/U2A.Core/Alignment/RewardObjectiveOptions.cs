namespace U2A.Core.Alignment;

/// <summary>Options of <see cref="RewardObjective"/>.</summary>
/// <param name="ChunkSize">Candidate sequences per forward pass, rounded down to whole prompts (at least one prompt); default 64.</param>
public sealed record RewardObjectiveOptions(int ChunkSize = 64)
{
    /// <summary>Throws when a field is out of range, naming it.</summary>
    public void Validate() => Require.AtLeastOne(ChunkSize, "RewardObjectiveOptions.ChunkSize");
}
