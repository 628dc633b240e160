using U2A.Quickstart;

// The main job: the evidence benchmark (docs/benchmark.md) on the embedded known-reward safety task.
// Usage: dotnet run --project samples/U2A.Quickstart -c Release [-- --quick] [--seeds 0,1,2] [--mislabeled-share 0.3] [--out DIR]
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
return QuickstartApp.Run(args, Console.Out, cancel.Token, Console.Error);
