using System.Diagnostics;
using System.Text;
using U2A.Core.MisuseProbe;

namespace U2A.Core.Tests.Reliability.Misuse;

/// <summary>
/// Runs every <see cref="AbortCases"/> case (misuse that used to kill the process with a native abort inside
/// <c>torch.autograd.grad</c>, exit 134) in a child process: <c>dotnet U2A.Core.MisuseProbe.dll case ...</c>. One child
/// runs them all in sequence; when it dies, the case it was running is recorded as crashed and a new child continues
/// with the rest, so a regression fails exactly its own test and never the test host.
/// </summary>
public sealed class AbortCaseProbe
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3); // a hang guard only, never a timed assertion

    /// <summary>Case name to (passed, what was observed).</summary>
    public IReadOnlyDictionary<string, (bool Passed, string Report)> Results { get; }

    public AbortCaseProbe()
    {
        var results = new Dictionary<string, (bool, string)>();
        var pending = AbortCases.All.Select(c => c.Name).ToList();
        while (pending.Count > 0)
        {
            var (exitCode, output) = Launch(pending);
            string? running = null;
            foreach (var line in output.Split('\n').Select(l => l.TrimEnd('\r')))
            {
                if (line.StartsWith("BEGIN ", StringComparison.Ordinal)) running = line[6..];
                else if (running is not null && (line.StartsWith($"PASS {running} |", StringComparison.Ordinal) || line.StartsWith($"FAIL {running} |", StringComparison.Ordinal)))
                {
                    results[running] = (line.StartsWith("PASS", StringComparison.Ordinal), line[(line.IndexOf('|') + 2)..]);
                    pending.Remove(running);
                    running = null;
                }
            }
            if (exitCode is 0 or 1 && running is null) break;
            // The child died (a native abort is exit code 134) or hung: blame the case it had begun, and go on without it.
            string victim = running ?? pending[0];
            results[victim] = (false, $"the child process died with exit code {exitCode} (134 = native abort, SIGABRT) while running this case; its output ended with:\n{Tail(output)}");
            pending.Remove(victim);
        }
        Results = results;
    }

    private static (int ExitCode, string Output) Launch(IReadOnlyList<string> cases)
    {
        string probe = typeof(AbortCases).Assembly.Location;
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(probe)!,
        };
        start.ArgumentList.Add(probe);
        foreach (var c in cases) start.ArgumentList.Add(c);
        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(Limit))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            lock (output) return (-1, output.ToString() + "\n(killed: no progress within the hang guard)");
        }
        process.WaitForExit(); // flushes the asynchronous readers
        lock (output) return (process.ExitCode, output.ToString());
    }

    private static string Tail(string text) => text.Length <= 2000 ? text : text[^2000..];
}

public class AbortCaseTests(AbortCaseProbe probe) : IClassFixture<AbortCaseProbe>
{
    public static TheoryData<string> Cases => new(AbortCases.All.Select(c => c.Name));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Once_aborting_misuse_throws_a_dotnet_exception_in_a_child_process(string name)
    {
        Assert.True(probe.Results.TryGetValue(name, out var result), $"the probe reported nothing for '{name}'");
        Assert.True(result.Passed, $"{name}: {result.Report}");
    }
}
