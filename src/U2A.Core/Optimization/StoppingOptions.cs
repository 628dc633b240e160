namespace U2A.Core.Optimization;

/// <summary>When the U2A outer loop stops before its last iteration, and which parameters it keeps.</summary>
public sealed record StoppingOptions
{
    /// <summary>Stop the outer loop when the PA score has not improved for this many outer iterations. At least 1.</summary>
    public int PaPatience { get; init; } = 1;

    /// <summary>At the end, put back the parameters of the outer iteration with the best PA score (the start included).</summary>
    public bool RestoreBestParameters { get; init; } = true;

    internal void Validate(string path) => Require.AtLeastOne(PaPatience, $"{path}.PaPatience");
}
