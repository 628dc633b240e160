using System.Diagnostics;
using System.Text.Json;
using U2A.Core.Optimization;

namespace U2A.Cli.Tests.Commands;

/// <summary>Ctrl+C (SIGINT) to a running <c>u2a run</c> process: exit 130 after the current step, a checkpoint that --resume completes.</summary>
public sealed class CancelResumeTests : IDisposable
{
    private readonly TinyModelFolder _f = new();

    public void Dispose() => _f.Dispose();

    [SkippableFact]
    public void Sigint_leaves_a_checkpoint_that_resume_completes()
    {
        Skip.If(OperatingSystem.IsWindows(), "sends SIGINT with kill(1)");
        string runDir = _f.Out("run");
        string checkpoint = Path.Combine(runDir, "checkpoint");
        string[] args = ["run", .. _f.Common("--out", runDir, "--outer", "3", "--inner-steps", "60", "--batch-size", "4", "--k", "4", "--lr", "1e-2", "--patience", "5")];
        using var process = U2a.Start(args);
        var clock = Stopwatch.StartNew();
        BilevelCheckpoint? saved = null;
        while (clock.Elapsed < TimeSpan.FromSeconds(60) && !process.HasExited && !BilevelCheckpoint.TryLoad(checkpoint, out saved)) Thread.Sleep(25);
        using (saved)
        {
            Assert.True(saved is not null, "no checkpoint appeared: " + (process.HasExited ? U2a.Wait(process).ToString() : "timeout"));
            Assert.Equal(1, saved!.CompletedIterations);
        }
        using (var kill = Process.Start("kill", ["-INT", process.Id.ToString()])) kill.WaitForExit();
        var cancelled = U2a.Wait(process, 60);
        Assert.True(cancelled.ExitCode == 130, cancelled.ToString());
        Assert.Contains("--resume", cancelled.Error);
        Assert.False(File.Exists(Path.Combine(runDir, "report.json")));

        // Without --resume the folder is refused; with it the run completes the remaining iterations.
        var refused = U2a.InProcess(args);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("--resume", refused.Error);
        var resumed = U2a.InProcess([.. args, "--resume"]);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(runDir, "report.json")));
        Assert.Equal([0, 1, 2, 3], report.RootElement.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("iteration").GetInt32()));
        Assert.True(report.RootElement.GetProperty("settings").GetProperty("resumed").GetBoolean());
    }
}
