namespace U2A.Testing;

/// <summary>PA metrics of a model on a set of prompts, each averaged over the prompts.</summary>
/// <param name="ExpectedReward">The exact expected known reward <c>sum_y p(y|x) r(x,y)</c>, the mass outside the well-formed set counted as malformed.</param>
/// <param name="WellFormedMass">The probability the model puts on well-formed responses.</param>
/// <param name="WinRate">The exact probability that a response of the model beats one of the baseline (ties count half); null without a baseline.</param>
public sealed record PaMetrics(double ExpectedReward, double WellFormedMass, double? WinRate);
