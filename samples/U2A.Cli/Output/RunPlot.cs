using U2A.Core.Optimization;

namespace U2A.Cli.Output;

/// <summary>The plot of a run: J (left axis) and the forget NLL (right axis) per outer iteration.</summary>
public static class RunPlot
{
    /// <summary>Writes a PNG of <paramref name="history"/> to <paramref name="path"/>.</summary>
    public static void Save(IReadOnlyList<OuterIterationRecord> history, string path)
    {
        var plot = new ScottPlot.Plot();
        var j = plot.Add.Scatter(history.Select(h => (double)h.Iteration).ToArray(), history.Select(h => h.Objective).ToArray());
        j.LegendText = "J (DPO loss, held-out pairs)";
        j.LineWidth = 2;
        var trained = history.Where(h => double.IsFinite(h.ForgetNll)).ToArray();
        if (trained.Length > 0)
        {
            var nll = plot.Add.Scatter(trained.Select(h => (double)h.Iteration).ToArray(), trained.Select(h => h.ForgetNll).ToArray());
            nll.LegendText = "forget NLL (unlearned negatives)";
            nll.LinePattern = ScottPlot.LinePattern.Dashed;
            nll.Axes.YAxis = plot.Axes.Right;
            plot.Axes.Right.Label.Text = "forget NLL (nats per token)";
        }
        plot.Title("U2A run: J and forget NLL per outer iteration");
        plot.XLabel("outer iteration (0 = start)");
        plot.YLabel("J (lower is better)");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        plot.SavePng(path, 900, 550);
    }
}
