namespace U2A.Core.Alignment;

/// <summary>Options of <see cref="DpoObjective"/>.</summary>
/// <param name="Beta">DPO temperature <c>beta</c> &gt; 0; default 0.3 (the U2A reference code's J).</param>
/// <param name="LossType">The per-pair loss; default <see cref="DpoLossType.Sigmoid"/> (DPO).</param>
/// <param name="ChunkSize">Pairs per forward pass; default 64.</param>
public sealed record DpoObjectiveOptions(double Beta = 0.3, DpoLossType LossType = DpoLossType.Sigmoid, int ChunkSize = 64)
{
    /// <summary>Throws when a field is out of range, naming it.</summary>
    public void Validate()
    {
        Require.Positive(Beta, "DpoObjectiveOptions.Beta");
        Require.Defined(LossType, "DpoObjectiveOptions.LossType");
        Require.AtLeastOne(ChunkSize, "DpoObjectiveOptions.ChunkSize");
    }
}
