using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using U2A.Core.Tests.Reliability.Files;

/// <summary>
/// Entry point of the child processes some reliability tests run: <c>dotnet exec U2A.Core.Tests.dll</c> with
/// <c>DOTNET_STARTUP_HOOKS</c> naming the same assembly. The runtime calls <see cref="Initialize"/> before the (empty)
/// entry point the test SDK generates; when <see cref="ChildProcess.ModeVariable"/> is set it runs that worker and exits,
/// so a native crash or a hang in the worker kills or stalls the child, never the test host.
/// </summary>
internal static class StartupHook
{
    public static void Initialize()
    {
        string? mode = Environment.GetEnvironmentVariable(ChildProcess.ModeVariable);
        if (string.IsNullOrEmpty(mode)) return;
        int code;
        try
        {
            code = mode switch
            {
                FuzzWorker.Mode => FuzzWorker.Run(),
                SaveLoopWorker.Mode => SaveLoopWorker.Run(),
                _ => throw new InvalidOperationException($"unknown child mode '{mode}'"),
            };
        }
        catch (Exception e)
        {
            Console.Out.WriteLine("X " + e.ToString().ReplaceLineEndings(" | "));
            Console.Out.Flush();
            code = 2;
        }
        Console.Out.Flush();
        Environment.Exit(code);
    }
}

namespace U2A.Core.Tests.Shared
{
    /// <summary>A child process running one worker of this assembly, its standard output collected line by line.</summary>
    internal sealed class ChildProcess : IDisposable
    {
        public const string ModeVariable = "U2A_TEST_CHILD_MODE";

        private readonly Process _process;
        private readonly BlockingCollection<string> _incoming = new();
        private readonly ConcurrentQueue<string> _lines = new();
        private readonly StringBuilder _stderr = new();

        private ChildProcess(Process process) => _process = process;

        /// <summary>Starts <c>dotnet exec &lt;this assembly&gt;</c> running worker <paramref name="mode"/> with extra environment variables.</summary>
        public static ChildProcess Start(string mode, IReadOnlyDictionary<string, string> environment)
        {
            string assembly = typeof(ChildProcess).Assembly.Location;
            var info = new ProcessStartInfo(DotnetHost())
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = Path.GetDirectoryName(assembly)!,
            };
            info.ArgumentList.Add("exec");
            info.ArgumentList.Add(assembly);
            info.Environment["DOTNET_STARTUP_HOOKS"] = assembly;
            info.Environment[ModeVariable] = mode;
            foreach (var (k, v) in environment) info.Environment[k] = v;
            var process = new Process { StartInfo = info };
            var child = new ChildProcess(process);
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null) { child._incoming.CompleteAdding(); return; }
                child._lines.Enqueue(e.Data);
                child._incoming.Add(e.Data);
            };
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                lock (child._stderr) if (child._stderr.Length < 20_000) child._stderr.AppendLine(e.Data);
            };
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return child;
        }

        /// <summary>The dotnet host that runs this test host (the runtime lives in &lt;root&gt;/shared/Microsoft.NETCore.App/&lt;version&gt;/).</summary>
        private static string DotnetHost()
        {
            string name = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
            string fromRuntime = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", name));
            if (File.Exists(fromRuntime)) return fromRuntime;
            string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            return host is not null && File.Exists(host) ? host : name;
        }

        /// <summary>Every line written so far.</summary>
        public IReadOnlyList<string> Lines => _lines.ToArray();

        /// <summary>What the child wrote to standard error (the first 20,000 characters).</summary>
        public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

        /// <summary>Waits for a line <paramref name="match"/> accepts; false when the output ends or the time runs out first.</summary>
        public bool WaitForLine(Func<string, bool> match, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) return false;
                try
                {
                    if (_incoming.TryTake(out var line, left) && match(line)) return true;
                    if (_incoming.IsCompleted) return false;
                }
                catch (InvalidOperationException) { return false; } // completed while waiting
            }
        }

        /// <summary>Waits for the child to exit; kills it (and its children) when <paramref name="timeout"/> passes first.
        /// Returns the exit code, or null when it had to be killed.</summary>
        public int? WaitForExit(TimeSpan timeout)
        {
            if (!_process.WaitForExit(timeout))
            {
                Kill();
                return null;
            }
            _process.WaitForExit(); // drains the asynchronous output readers
            return _process.ExitCode;
        }

        /// <summary>Kills the child at once (SIGKILL on Unix), as a crash or a power-kept kill would end it.</summary>
        public void Kill()
        {
            try { _process.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { } // already exited
            _process.WaitForExit();
        }

        public void Dispose()
        {
            if (!_process.HasExited) Kill();
            _process.Dispose();
            _incoming.Dispose();
        }
    }
}
