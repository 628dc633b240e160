using System.Text.Json.Nodes;
using U2A.Quickstart;
using U2A.Testing.Benchmark;

namespace U2A.Core.Tests.Testing;

/// <summary>The Quickstart's benchmark end to end in its reduced mode: the report's structure and internal consistency (not the claims).</summary>
[Collection(U2A.Core.Tests.Shared.SerialCollection.Name)]
public class QuickstartBenchmarkTests
{
    [Fact]
    public void Quick_run_writes_a_consistent_report_and_three_plots_and_repeats_exactly()
    {
        string dir = Path.Combine(Path.GetTempPath(), "u2a-quick-" + Guid.NewGuid().ToString("N"));
        try
        {
            var output = new StringWriter();
            Assert.Equal(0, QuickstartApp.Run(new[] { "--quick", "--out", dir }, output));
            var text = output.ToString();
            Assert.Contains("[100 %]", text);
            Assert.Contains("C1 (", text);
            var json = File.ReadAllText(Path.Combine(dir, "report.json"));
            var report = SafetyBenchmarkReport.FromJson(json);
            CheckConsistency(report, SafetyBenchmarkSettings.Quick);
            var node = JsonNode.Parse(json)!.AsObject();
            foreach (var field in new[] { "seeds", "mislabeled_share", "pa_metric", "start_pa", "start_well_formed_mass", "target_pa", "methods", "groups" })
                Assert.True(node.ContainsKey(field), $"report.json lacks {field}");
            foreach (var field in new[] { "name", "learning_rate", "pa_score_mean", "pa_score_std", "greedy_pa_mean", "win_rate_mean", "forget_nll_mean",
                "retain_nll_mean", "well_formed_mass", "update_steps", "steps_to_target", "seconds_to_target", "selection_precision" })
                Assert.True(node["methods"]![0]!.AsObject().ContainsKey(field), $"a method lacks {field}");
            foreach (var png in new[] { "pa_vs_steps.png", "group_delta_pa.png", "score_histogram.png" })
            {
                var bytes = File.ReadAllBytes(Path.Combine(dir, png));
                Assert.True(bytes.Length > 1000, $"{png} is too small");
                Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
            }

            // The same seed gives the same report (wall-clock fields aside), and the run changed the model (PA moved).
            string again = Path.Combine(dir, "again");
            Assert.Equal(0, QuickstartApp.Run(new[] { "--quick", "--out", again }, new StringWriter()));
            Assert.Equal(WithoutTimes(json), WithoutTimes(File.ReadAllText(Path.Combine(again, "report.json"))));
            Assert.Contains(report.Methods, m => Math.Abs(m.PaScoreMean - report.StartPa) > 1e-6);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Seeds_in_child_processes_give_the_same_report_as_in_one_process()
    {
        string dir = Path.Combine(Path.GetTempPath(), "u2a-workers-" + Guid.NewGuid().ToString("N"));
        try
        {
            var output = new StringWriter();
            Assert.Equal(0, QuickstartApp.Run(new[] { "--quick", "--seeds", "0,1", "--out", Path.Combine(dir, "workers") }, output));
            Assert.Contains("seed 1: C1 done", output.ToString());
            Assert.Equal(0, QuickstartApp.Run(new[] { "--quick", "--seeds", "0,1", "--in-process", "--out", Path.Combine(dir, "one") }, new StringWriter()));
            string a = File.ReadAllText(Path.Combine(dir, "workers", "report.json")), b = File.ReadAllText(Path.Combine(dir, "one", "report.json"));
            Assert.Equal(WithoutTimes(b), WithoutTimes(a));
            Assert.Equal(new[] { 0, 1 }, SafetyBenchmarkReport.FromJson(a).Seeds);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Theory]
    [InlineData("--seeds", "99999999999", "--seeds")]
    [InlineData("--mislabeled-share", "0.999", "--mislabeled-share")]
    [InlineData("--mislabeled-share", "1.5", "--mislabeled-share")]
    [InlineData("--seeds", "1,x", "--seeds")]
    [InlineData("--bogus", "1", "--bogus")]
    public void Bad_arguments_exit_2_naming_the_option(string option, string value, string named)
    {
        var output = new StringWriter();
        Assert.Equal(2, QuickstartApp.Run(new[] { option, value }, output));
        Assert.Contains(named, output.ToString());
    }

    [Fact]
    public void Repeated_options_and_an_output_path_that_is_a_file_are_refused_before_any_work()
    {
        var output = new StringWriter();
        Assert.Equal(2, QuickstartApp.Run(new[] { "--seeds", "1", "--seeds", "2" }, output));
        Assert.Contains("--seeds is given twice", output.ToString());
        Assert.Equal(2, QuickstartApp.Run(new[] { "--out", "--quick" }, output));
        Assert.Contains("--out needs a value", output.ToString());
        string file = Path.GetTempFileName();
        try
        {
            var errors = new StringWriter();
            Assert.Equal(1, QuickstartApp.Run(new[] { "--quick", "--out", file }, output, default, errors));
            Assert.Contains("is not a writable folder", errors.ToString());
            Assert.DoesNotContain("[", errors.ToString());   // no progress: nothing ran
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Settings_are_copied_when_the_benchmark_is_made_and_Quick_is_a_fresh_instance()
    {
        var settings = SafetyBenchmarkSettings.Quick;
        settings.Seeds[0] = 7;
        Assert.Equal(0, SafetyBenchmarkSettings.Quick.Seeds[0]);
        var e = Assert.Throws<ArgumentException>(() => new SafetyBenchmark(settings with { MislabeledShare = 0.99 }));
        Assert.Contains("MislabeledShare", e.Message);
        e = Assert.Throws<ArgumentException>(() => new SafetyBenchmark(settings with { Groups = 1_500_000_000 }));
        Assert.Contains("PoolSize", e.Message);
        e = Assert.Throws<ArgumentException>(() => new SafetyBenchmark(settings with { PoolSize = int.MaxValue }));
        Assert.Contains("PoolSize", e.Message);
    }

    private static void CheckConsistency(SafetyBenchmarkReport r, SafetyBenchmarkSettings s)
    {
        Assert.Equal(s.Seeds, r.Seeds);
        Assert.Equal(0.3, r.MislabeledShare);
        Assert.Equal("expected_reward", r.PaMetric);
        Assert.Equal(SafetyBenchmark.MethodNames, r.Methods.Select(m => m.Name));
        Assert.InRange(r.StartWellFormedMass, 0, 1);
        foreach (var m in r.Methods)
        {
            Assert.Contains(m.LearningRate, s.LearningRates);
            Assert.Equal(s.LearningRates.Length, m.ValidationPaByLearningRate.Count);
            Assert.Equal(m.ValidationPaByLearningRate.Values.Max(), m.ValidationPaByLearningRate[m.LearningRate.ToString("G3", System.Globalization.CultureInfo.InvariantCulture)]);
            Assert.Equal(r.Seeds.Length, m.PerSeed.Length);
            Assert.Equal(m.PerSeed.Average(p => p.PaScore), m.PaScoreMean, 12);
            Assert.Equal(m.PerSeed.Average(p => p.UpdateSteps), m.UpdateSteps, 12);
            Assert.InRange(m.WinRateMean, 0, 1);
            Assert.InRange(m.WellFormedMass, 0, 1);
            Assert.InRange(m.PaScoreMean, -1, 1);
            Assert.InRange(m.UpdateSteps, 0, s.Rounds * s.StepsPerRound);
            Assert.Equal(m.StepsToTarget is null, m.TargetReachedSeeds == 0);
            Assert.Equal(m.StepsToTarget is null, m.SecondsToTarget is null);
            Assert.True(m.Trajectory.Length >= 1 && m.Trajectory[0].Steps == 0, $"{m.Name}: the trajectory starts at step 0");
            bool selects = m.Name.Contains('+');
            Assert.Equal(selects, m.SelectionPrecision is not null);
        }
        var byName = r.Methods.ToDictionary(m => m.Name);
        Assert.Equal(1.0, byName["Oracle+GA"].SelectionPrecision);
        Assert.Equal(byName["U2A+GA"].SelectedCount, byName["Random+GA"].SelectedCount);
        Assert.Equal(s.Groups * r.Seeds.Length, r.Groups.Length);
        Assert.Equal(r.Groups.Count(g => g.DeltaPa < 0) / (double)r.Groups.Length, r.Claims.C1ShareLower, 12);
        Assert.All(r.Scores, sc => Assert.Equal(s.PoolSize, sc.Scores.Length));
        Assert.All(r.Scores, sc => Assert.Equal(s.PoolSize - (int)Math.Round(s.PoolSize * 0.3), sc.IsTrueNegative.Count(t => t)));
        foreach (var c in r.Claims.C2)
            Assert.Equal(byName["U2A+" + c.Unlearner].PaScoreMean - byName[c.Unlearner].PaScoreMean, c.Margin, 12);
    }

    private static string WithoutTimes(string json)
    {
        var node = JsonNode.Parse(json)!.AsObject();
        node.Remove("total_seconds");
        foreach (var m in node["methods"]!.AsArray())
        {
            m!.AsObject().Remove("seconds_to_target");
            foreach (var p in m["per_seed"]!.AsArray()) p!.AsObject().Remove("seconds_to_target");
            foreach (var p in m["trajectory"]!.AsArray()) p!.AsObject().Remove("seconds");
        }
        node["claims"]!.AsObject().Remove("c4_seconds_ratio");
        node["claims"]!.AsObject().Remove("c4_holds");
        return node.ToJsonString();
    }
}
