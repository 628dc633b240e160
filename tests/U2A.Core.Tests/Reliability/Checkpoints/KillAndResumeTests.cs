using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace U2A.Core.Tests.Reliability.Checkpoints;

/// <summary>
/// A U2A run in a child process (tests/U2A.Core.KillProbe) is killed with SIGKILL at random instants, 20 times, each
/// save stretched so that many kills land inside one; every restart resumes from the checkpoint folder, and each chain
/// of kills ends with a resumed run to completion whose result must equal an uninterrupted run's bit for bit.
/// </summary>
public sealed class KillAndResumeTests(ITestOutputHelper output) : IDisposable
{
    private const int Outer = 6, Inner = 3, Kills = 20, KillsPerChain = 5;
    private readonly string _dir = Directory.CreateTempSubdirectory("u2a-kill-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Twenty_sigkills_at_random_instants_including_inside_saves_resume_to_the_uninterrupted_result_bitwise()
    {
        var rng = new Random(20_260_601);
        var reference = new Dictionary<bool, string>();
        var startPhases = new List<TimeSpan>(); var iterations = new List<TimeSpan>(); // to place kills
        foreach (bool restoreBest in new[] { false, true })
        {
            string folder = Path.Combine(_dir, $"reference-{restoreBest}"), resultFile = folder + ".txt";
            using var probe = new KillProbeProcess(folder, resultFile, Outer, Inner, restoreBest);
            Assert.StartsWith("running -1 ", probe.WaitFor("running"));
            Assert.True(probe.WaitForExit() == 0, probe.StandardError);
            reference[restoreBest] = File.ReadAllText(resultFile);
            var at = probe.Seen.Select(l => l.At).ToArray(); // running, iteration 1..Outer, done
            startPhases.Add(at[1] - at[0]);
            for (int i = 2; i < at.Length; i++) iterations.Add(at[i] - at[i - 1]);
        }
        Assert.NotEqual(reference[false], reference[true]); // the two variants end on different parameters
        TimeSpan startPhase = Mean(startPhases), iteration = Mean(iterations);

        int kills = 0, beforeCommit = 0, duringPrune = 0, resumes = 0, chains = 0;
        var log = new List<string>();
        try
        {
            while (kills < Kills)
            {
                bool restoreBest = chains % 2 == 1;
                string folder = Path.Combine(_dir, $"chain-{chains}"), resultFile = folder + ".txt";
                int lastIterationSeen = 0, killsHere = 0;
                while (killsHere < KillsPerChain && kills < Kills)
                {
                    using var probe = new KillProbeProcess(folder, resultFile, Outer, Inner, restoreBest);
                    int completed = CheckResume(probe.WaitFor("running"), lastIterationSeen, ref resumes);
                    // A random instant: pick an iteration line k still to come (or the start), then a random delay of
                    // up to one iteration, so the kill lands in save k (the larger share, KillProbeProcess.SaveStepDelayMs)
                    // or in the unlearning, scoring and evaluation of iteration k + 1.
                    int from = Math.Max(completed, 0);
                    if (from == Outer) break; // nothing left to interrupt
                    int k = rng.Next(from, Outer);
                    if (k > from) probe.WaitFor($"iteration {k}");
                    var span = k == 0 ? startPhase : iteration;
                    Thread.Sleep(span * rng.NextDouble());
                    if (probe.HasExited) break; // it finished first: this chain's final check below
                    probe.Kill();
                    probe.Drain();
                    kills++; killsHere++;
                    lastIterationSeen = Math.Max(lastIterationSeen, probe.Seen.Where(l => l.Line.StartsWith("iteration ", StringComparison.Ordinal))
                        .Select(l => int.Parse(l.Line["iteration ".Length..], CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max());
                    var entries = Directory.Exists(folder) ? Directory.GetDirectories(folder).Select(d => Path.GetFileName(d)!).Order().ToArray() : Array.Empty<string>();
                    int temporary = entries.Count(e => e.Contains(".tmp", StringComparison.Ordinal)), committed = entries.Length - temporary;
                    string where = temporary > 0 ? "inside a save, before its commit" : committed > 2 ? "inside a save, after its commit (pruning)" : "outside a save";
                    if (temporary > 0) beforeCommit++;
                    else if (committed > 2) duringPrune++;
                    log.Add($"chain {chains} kill {killsHere}: resumed from {completed}, aimed after line {k} + {span.TotalMilliseconds:F0} ms at most, " +
                        $"last line 'iteration {lastIterationSeen}', {where} [{string.Join(", ", entries)}]");
                }
                if (File.Exists(resultFile)) File.Delete(resultFile); // written again by the resumed run
                using (var final = new KillProbeProcess(folder, resultFile, Outer, Inner, restoreBest))
                {
                    CheckResume(final.WaitFor("running"), lastIterationSeen, ref resumes);
                    Assert.True(final.WaitForExit() == 0, final.StandardError);
                }
                Assert.Equal(reference[restoreBest], File.ReadAllText(resultFile));
                // No leftovers: the newest two committed generations only.
                var left = Directory.GetDirectories(folder).Select(d => Path.GetFileName(d)!).ToArray();
                Assert.True(left.Length == 2 && left.All(e => System.Text.RegularExpressions.Regex.IsMatch(e, @"^gen-\d+$")), string.Join(", ", left));
                chains++;
            }
        }
        finally
        {
            foreach (var line in log) output.WriteLine(line);
        }
        output.WriteLine($"{kills} kills in {chains} chains: {beforeCommit} inside a save before its commit, {duringPrune} after its commit; " +
            $"{resumes} resumes from a checkpoint; every chain ended bitwise equal to the uninterrupted run.");
        Assert.Equal(Kills, kills);
        Assert.True(beforeCommit + duringPrune >= 1, "no kill landed inside a save: " + string.Join(" / ", log));
    }

    private static TimeSpan Mean(List<TimeSpan> spans) => TimeSpan.FromTicks((long)spans.Average(t => t.Ticks));

    /// <summary>
    /// Parses "running &lt;completed&gt; &lt;source&gt; &lt;skipped&gt;": no generation may be skipped (a kill never corrupts a
    /// committed one) and no completed save may be lost (iteration t is printed after the save of t - 1 returned;
    /// -1, a fresh start, counts as 0 saves).
    /// </summary>
    private static int CheckResume(string running, int lastIterationSeen, ref int resumes)
    {
        var parts = running.Split(' ');
        int completed = int.Parse(parts[1], CultureInfo.InvariantCulture), skipped = int.Parse(parts[^1], CultureInfo.InvariantCulture);
        Assert.True(skipped == 0, $"a committed generation was unusable after a kill: {running}");
        Assert.True(Math.Max(completed, 0) >= lastIterationSeen - 1, $"a completed save was lost: iteration {lastIterationSeen} had started, but the probe resumed from {running}");
        if (completed >= 0) resumes++;
        return completed;
    }
}
