using U2A.Cli.Output;
using static TorchSharp.torch;

namespace U2A.Cli;

/// <summary>What a command's handler gets: the reporter, the error writer, the device and the cancellation token.</summary>
public sealed class CommandContext(Reporter reporter, TextWriter error, Device device, CancellationToken cancellation)
{
    /// <summary>Progress, tables and logs.</summary>
    public Reporter Reporter { get; } = reporter;
    /// <summary>Error messages.</summary>
    public TextWriter Error { get; } = error;
    /// <summary>The torch device.</summary>
    public Device Device { get; } = device;
    /// <summary>Set by Ctrl+C / SIGTERM.</summary>
    public CancellationToken Cancellation { get; } = cancellation;
}
