namespace U2A.Testing.Benchmark;

/// <summary>C2 for one unlearner.</summary>
/// <param name="Unlearner">GA, GradDiff or NPO.</param>
/// <param name="U2aPa">U2A + X's mean test PA.</param>
/// <param name="PlainPa">X's on the whole pool.</param>
/// <param name="Margin">Their difference.</param>
/// <param name="RequiredMargin">The larger of their two seed standard deviations.</param>
/// <param name="ForgetNllRatio">U2A + X's forget NLL on the truly harmful negatives over X's (goal at least 0.9).</param>
/// <param name="Holds">Margin above the required one and the ratio at least 0.9.</param>
/// <param name="PairedLow">Lower end of the 95% t interval of the per-seed paired difference (NaN with one seed).</param>
/// <param name="PairedHigh">Its upper end.</param>
/// <param name="SeedsWon">Seeds on which U2A + X's test PA is higher.</param>
public sealed record C2Entry(string Unlearner, double U2aPa, double PlainPa, double Margin, double RequiredMargin, double ForgetNllRatio, bool Holds,
    double PairedLow, double PairedHigh, int SeedsWon);
