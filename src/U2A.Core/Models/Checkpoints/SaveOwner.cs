using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;

namespace U2A.Core.Models.Checkpoints;

/// <summary>
/// Names the process that owns a temporary file or folder of a save, so that a later save or load can tell the
/// leftovers of a process that died (removable) from the work in progress of one that runs (left alone).
/// The token is <c>&lt;pid&gt;-&lt;start time in ticks, hex&gt;</c>: the start time makes a reused process id
/// (a restarted container often gets the same one) read as a different, dead owner.
/// </summary>
internal static class SaveOwner
{
    /// <summary>The token of the current process.</summary>
    public static string Current
    {
        get
        {
            using var self = Process.GetCurrentProcess();
            return Format(Environment.ProcessId, StartTicks(self));
        }
    }

    public static string Format(int pid, long startTicks) => $"{pid.ToString(CultureInfo.InvariantCulture)}-{startTicks.ToString("x", CultureInfo.InvariantCulture)}";

    /// <summary>
    /// Reads a token at the start of <paramref name="text"/> (<c>pid-ticks</c>, or a bare <c>pid</c> as written by earlier
    /// versions), followed by the end of the text or a '-'. False when the text does not start with one.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> text, out int pid, out long? startTicks)
    {
        pid = 0;
        startTicks = null;
        int dash = text.IndexOf('-');
        var pidText = dash < 0 ? text : text[..dash];
        if (!int.TryParse(pidText, NumberStyles.None, CultureInfo.InvariantCulture, out pid) || pid <= 0) return false;
        if (dash < 0) return true;
        var rest = text[(dash + 1)..];
        int next = rest.IndexOf('-');
        var ticksText = next < 0 ? rest : rest[..next];
        if (long.TryParse(ticksText, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out long ticks)) startTicks = ticks;
        return true;
    }

    /// <summary>
    /// Whether the owner named by (<paramref name="pid"/>, <paramref name="startTicks"/>) may still be running. False only
    /// when it certainly is not: no process has that id, or the one that has it started at another time, or (for a token
    /// without a start time, written by an earlier version) it is the current process, which never writes such tokens.
    /// When the operating system will not say, the owner is taken to be running and its files are left alone.
    /// </summary>
    public static bool MayBeRunning(int pid, long? startTicks)
    {
        if (pid == Environment.ProcessId)
        {
            if (startTicks is null) return false;
            using var self = Process.GetCurrentProcess();
            return StartTicks(self) == startTicks;
        }
        try
        {
            using var process = Process.GetProcessById(pid);
            if (process.HasExited) return false;
            return startTicks is null || StartTicks(process) == startTicks;
        }
        catch (ArgumentException) { return false; } // no such process
        catch (InvalidOperationException) { return false; } // exited while being inspected
        catch (Win32Exception) { return true; } // not allowed to inspect it
        catch (NotSupportedException) { return true; }
        catch (UnauthorizedAccessException) { return true; }
    }

    private static long StartTicks(Process process) => process.StartTime.ToUniversalTime().Ticks;
}
