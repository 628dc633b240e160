using U2A.Testing.Benchmark;

namespace U2A.Quickstart;

/// <summary>The benchmark's three plots, drawn with ScottPlot.</summary>
public static class BenchmarkPlots
{
    /// <summary>The files <see cref="Write"/> writes.</summary>
    public static IReadOnlyList<string> FileNames { get; } = new[] { "pa_vs_steps.png", "group_delta_pa.png", "score_histogram.png" };

    /// <summary>Writes pa_vs_steps.png, group_delta_pa.png and score_histogram.png to <paramref name="directory"/>.</summary>
    public static void Write(SafetyBenchmarkReport report, string directory)
    {
        PaVsSteps(report, Path.Combine(directory, "pa_vs_steps.png"));
        GroupDeltas(report, Path.Combine(directory, "group_delta_pa.png"));
        ScoreHistogram(report, Path.Combine(directory, "score_histogram.png"));
    }

    private static void Save(ScottPlot.Plot plot, string path, int width, int height) => plot.SavePng(path, width, height);

    private static void PaVsSteps(SafetyBenchmarkReport report, string path)
    {
        var plot = new ScottPlot.Plot();
        foreach (var m in report.Methods)
        {
            var line = plot.Add.Scatter(m.Trajectory.Select(p => (double)p.Steps).ToArray(), m.Trajectory.Select(p => p.ValidationPa).ToArray());
            line.LegendText = $"{m.Name} (lr {m.LearningRate:G3})";
            if (m.Name.StartsWith("U2A+", StringComparison.Ordinal)) line.LineWidth = 3;
        }
        var target = plot.Add.HorizontalLine(report.TargetPa);
        target.LinePattern = ScottPlot.LinePattern.Dashed;
        target.LegendText = "target";
        plot.Title($"Validation expected reward against update steps (mean of {report.Seeds.Length} seeds)");
        plot.XLabel("update steps");
        plot.YLabel("expected known reward (validation prompts)");
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        Save(plot, path, 1000, 650);
    }

    private static void GroupDeltas(SafetyBenchmarkReport report, string path)
    {
        var plot = new ScottPlot.Plot();
        var sorted = report.Groups.OrderBy(g => g.DeltaPa).ToArray();
        var bars = plot.Add.Bars(Enumerable.Range(0, sorted.Length).Select(i => (double)i).ToArray(), sorted.Select(g => g.DeltaPa).ToArray());
        for (int i = 0; i < sorted.Length; i++)
        {
            double share = sorted[i].Size == 0 ? 0 : sorted[i].TrueNegatives / (double)sorted[i].Size;
            bars.Bars[i].FillColor = ScottPlot.Color.InterpolateRgb(ScottPlot.Colors.SteelBlue, ScottPlot.Colors.OrangeRed, share);
        }
        plot.Add.HorizontalLine(0);
        plot.Title($"C1: test PA change when one group of {sorted.FirstOrDefault()?.Size} negatives is unlearned alone");
        plot.XLabel("groups, sorted (colour: share truly harmful, blue 0 to red 1)");
        plot.YLabel("change of expected reward (test prompts)");
        Save(plot, path, 1000, 600);
    }

    private static void ScoreHistogram(SafetyBenchmarkReport report, string path)
    {
        var plot = new ScottPlot.Plot();
        var all = report.Scores.SelectMany(s => s.Scores).ToArray();
        if (all.Length > 0)
        {
            double lo = all.Min(), hi = all.Max(), width = Math.Max((hi - lo) / 30, 1e-12), maxCount = 1;
            foreach (var (truth, name, offset, color) in new[] { (true, "truly harmful", 0.0, ScottPlot.Colors.OrangeRed), (false, "mislabeled", 0.5, ScottPlot.Colors.SteelBlue) })
            {
                var values = report.Scores.SelectMany(s => s.Scores.Where((_, i) => s.IsTrueNegative[i] == truth)).ToArray();
                var counts = new double[30];
                foreach (var v in values) counts[Math.Min(29, (int)((v - lo) / width))]++;
                maxCount = Math.Max(maxCount, counts.Max());
                var bars = plot.Add.Bars(Enumerable.Range(0, 30).Select(i => lo + (i + 0.25 + offset / 2) * width).ToArray(), counts);
                foreach (var b in bars.Bars) { b.Size = width * 0.45; b.FillColor = color; }
                bars.LegendText = name;
            }
            plot.Add.VerticalLine(0);
            plot.Axes.SetLimitsY(0, maxCount * 1.15);
        }
        plot.Title("Influence scores at the start (identity estimator): truly harmful vs mislabeled negatives");
        plot.XLabel("influence score s_i (> 0: unlearning it is predicted to lower J)");
        plot.YLabel("negatives");
        plot.ShowLegend(ScottPlot.Alignment.UpperLeft);
        Save(plot, path, 1000, 600);
    }
}
