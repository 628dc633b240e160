using System.Globalization;
using System.Text;
using U2A.Testing.Benchmark;

namespace U2A.Quickstart;

/// <summary>The benchmark's closing table and the measured figure beside each goal.</summary>
public static class BenchmarkTable
{
    /// <summary>Formats the report as a fixed-width table followed by the claims.</summary>
    public static string Format(SafetyBenchmarkReport r)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(string.Format(c, "Start (test prompts): expected reward {0:F3} ± {1:F3}, greedy {2:F3}, well-formed mass {3:F3} (train prompts {4:F3}). Target on validation prompts: {5:F3}.",
            r.StartPa, r.StartPaStd, r.StartGreedyPa, r.StartWellFormedMass, r.StartWellFormedMassTrain, r.TargetPa));
        sb.AppendLine("method        lr      test PA (mean ± sd)  greedy  win    wf-mass  forget-NLL  retain-NLL  steps  to-target (steps, s, seeds)  precision  selected");
        foreach (var m in r.Methods)
        {
            string target = m.StepsToTarget is null ? "not reached" : string.Format(c, "{0,5:F1} {1,6:F2}s {2}/{3}", m.StepsToTarget, m.SecondsToTarget, m.TargetReachedSeeds, r.Seeds.Length);
            sb.AppendLine(string.Format(c, "{0,-13} {1,-7:G3} {2,7:F3} ± {3,-5:F3}        {4,6:F3}  {5:F3}  {6,7:F3}  {7,10:F3}  {8,10:F3}  {9,5:F1}  {10,-27}  {11,-9}  {12}",
                m.Name, m.LearningRate, m.PaScoreMean, m.PaScoreStd, m.GreedyPaMean, m.WinRateMean, m.WellFormedMass, m.ForgetNllMean, m.RetainNllMean,
                m.UpdateSteps, target, m.SelectionPrecision is { } p ? p.ToString("F3", c) : "-", m.SelectedCount is { } n ? n.ToString("F1", c) : "-"));
        }
        var k = r.Claims;
        sb.AppendLine();
        sb.AppendLine(string.Format(c, "C1 (>= 20% of groups lower PA and >= 20% raise it): {0:P0} lower, {1:P0} raise -> {2}", k.C1ShareLower, k.C1ShareRaise, Verdict(k.C1Holds)));
        foreach (var e in k.C2)
            sb.AppendLine(string.Format(c, "C2 {0,-8} U2A {1:F3} vs whole pool {2:F3}: margin {3:+0.000;-0.000} (needs > {4:F3}; paired 95% CI {7:F3}..{8:F3}, U2A higher on {9} of {10} seeds), forget-NLL ratio {5:F2} (needs >= 0.90) -> {6}",
                e.Unlearner, e.U2aPa, e.PlainPa, e.Margin, e.RequiredMargin, e.ForgetNllRatio, Verdict(e.Holds), e.PairedLow, e.PairedHigh, e.SeedsWon, r.Seeds.Length));
        sb.AppendLine(string.Format(c, "C3 (best U2A variant {0} >= 95% of DPO's PA): ratio {1} -> {2}", k.BestU2aVariant, k.C3Ratio is { } r3 ? r3.ToString("F2", c) : "n/a (DPO's PA <= 0)", Verdict(k.C3Holds)));
        sb.AppendLine(string.Format(c, "C4 (<= 10% of DPO's steps and <= 25% of its time to target): steps ratio {0}, time ratio {1} -> {2}",
            k.C4StepsRatio is { } s ? s.ToString("F2", c) : "n/a", k.C4SecondsRatio is { } t ? t.ToString("F2", c) : "n/a", Verdict(k.C4Holds)));
        sb.AppendLine(string.Format(c, "Selection precision of U2A+GA (goal >= 0.9; whole pool {0:F2}): {1}", 1 - r.MislabeledShare, k.SelectionPrecision is { } q ? q.ToString("F3", c) : "n/a"));
        return sb.ToString();
    }

    private static string Verdict(bool holds) => holds ? "holds" : "does not hold";
}
