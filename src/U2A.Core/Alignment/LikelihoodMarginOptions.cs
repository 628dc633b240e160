namespace U2A.Core.Alignment;

/// <summary>Options of <see cref="LikelihoodMarginObjective"/>.</summary>
/// <param name="ChunkSize">Pairs per forward pass; default 64.</param>
public sealed record LikelihoodMarginOptions(int ChunkSize = 64)
{
    /// <summary>Throws when a field is out of range, naming it.</summary>
    public void Validate() => Require.AtLeastOne(ChunkSize, "LikelihoodMarginOptions.ChunkSize");
}
