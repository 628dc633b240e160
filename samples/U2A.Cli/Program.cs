using System.Runtime.InteropServices;
using U2A.Cli;

// Ctrl+C (SIGINT) and SIGTERM (Kubernetes, Slurm preemption) ask the command to stop after its current step; a second
// signal ends the process at once.
using var cancellation = new CancellationTokenSource();
void OnSignal(PosixSignalContext context)
{
    if (cancellation.IsCancellationRequested) return; // second signal: default handling (terminate)
    context.Cancel = true;
    Console.Error.WriteLine($"{context.Signal}: stopping after the current step (send it again to stop at once)...");
    cancellation.Cancel();
}
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
return CliApp.Run(args, Console.Out, Console.Error, cancellation.Token);
