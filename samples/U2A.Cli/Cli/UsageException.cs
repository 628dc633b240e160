namespace U2A.Cli;

/// <summary>A bad command-line argument: exit code 2, the message names the option.</summary>
public sealed class UsageException(string option, string message) : Exception($"{option}: {message}")
{
    /// <summary>The option at fault, e.g. <c>--shard</c>.</summary>
    public string Option { get; } = option;
}

/// <summary>A failure of the input data or of the run (exit code 1) that is worth a one-line message rather than a stack trace.</summary>
public sealed class CliFailure(string message) : Exception(message);
