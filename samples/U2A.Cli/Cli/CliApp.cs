using System.CommandLine;
using U2A.Cli.Commands;
using U2A.Cli.Output;
using U2A.Core.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace U2A.Cli;

/// <summary>
/// The u2a command line. <see cref="Run"/> parses, dispatches and maps outcomes to exit codes: 0 success, 1 failure,
/// 2 bad arguments (the message names the option), 130 cancelled (Ctrl+C or SIGTERM).
/// </summary>
public static class CliApp
{
    /// <summary>Success.</summary>
    public const int Ok = 0;
    /// <summary>A failure of the data, the model or the run.</summary>
    public const int Failure = 1;
    /// <summary>A bad argument.</summary>
    public const int BadArguments = 2;
    /// <summary>Cancelled.</summary>
    public const int Cancelled = 130;

    /// <summary>Runs the command line <paramref name="args"/>, writing to <paramref name="output"/> and <paramref name="error"/>.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, CancellationToken cancellation = default)
    {
        int Handler(ParseResult r, Func<CommandContext, int> body)
        {
            try
            {
                int threads = r.GetValue<int>("--threads");
                if (threads < 1) throw new UsageException("--threads", $"must be at least 1, got {threads}.");
                torch.set_num_threads(threads);
                string deviceName = r.GetValue<string>("--device") ?? "cpu";
                Device device;
                try { device = torch.device(deviceName); }
                catch (Exception e) { throw new UsageException("--device", $"'{deviceName}' is not a device ({e.Message})."); }
                if (device.type == DeviceType.CUDA && !torch.cuda.is_available())
                    throw new UsageException("--device", $"'{deviceName}' was asked for but CUDA is not available (build with -p:TorchBackend=cuda on a machine with a GPU).");
                var ctx = new CommandContext(new Reporter(output, r.GetValue<bool>("--quiet")), error, device, cancellation);
                return body(ctx);
            }
            catch (UsageException e) { error.WriteLine($"error: {e.Message}"); return BadArguments; }
            catch (OperationCanceledException) { error.WriteLine("cancelled."); return Cancelled; }
            catch (Exception e) when (e is CliFailure or DatasetFormatException or CollationException or InvalidDataException or IOException)
            {
                error.WriteLine($"error: {e.Message}");
                return Failure;
            }
            catch (ArgumentException e)
            {
                // The library names the field of a bad setting (e.g. "BilevelOptions.Inner.Steps must be at least 1").
                error.WriteLine($"error: {e.Message}");
                return BadArguments;
            }
            catch (Exception e)
            {
                error.WriteLine($"error: {e.GetType().Name}: {e.Message}");
                return Failure;
            }
        }

        var root = new RootCommand("u2a: preference alignment by unlearning (U2A) on Hugging Face model folders and JSONL data. See docs/cli.md.");
        root.Subcommands.Add(ScoreCommand.Create(Handler));
        root.Subcommands.Add(RunCommand.Create(Handler));
        root.Subcommands.Add(EvalCommand.Create(Handler));
        root.Subcommands.Add(PrepareCommand.Create(Handler));
        root.Subcommands.Add(MergeCommand.Create(Handler));
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) error.WriteLine($"error: {e.Message}");
            error.WriteLine("Run 'u2a --help' or 'u2a COMMAND --help' for the options.");
            return BadArguments;
        }
        return parse.Invoke(new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null });
    }
}
