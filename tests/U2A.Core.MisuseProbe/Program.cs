using U2A.Core.MisuseProbe;

// Usage (from the repository root):
//   dotnet run --project tests/U2A.Core.MisuseProbe -- --list          the case names
//   dotnet run --project tests/U2A.Core.MisuseProbe -- <case> ...      runs those cases in sequence (all when none named)
// For each case it prints "BEGIN <case>" and then "PASS <case> | <observed>" or "FAIL <case> | <what went wrong>".
// Exit code: 0 when every case behaved as expected, 1 when some case did not; a native abort kills the process
// (exit code 134, SIGABRT) after its BEGIN line, which is how the test that launches it tells which case crashed.
if (args.Contains("--list"))
{
    foreach (var c in AbortCases.All) Console.WriteLine(c.Name);
    return 0;
}
TorchSharp.torch.set_num_threads(1);
var cases = args.Length == 0 ? AbortCases.All : args.Select(AbortCases.Find).ToList();
int failed = 0;
foreach (var c in cases)
{
    Console.WriteLine($"BEGIN {c.Name}");
    Console.Out.Flush();
    string? problem = c.Check(out var observed);
    Console.WriteLine(problem is null ? $"PASS {c.Name} | {observed}" : $"FAIL {c.Name} | {problem}");
    Console.Out.Flush();
    if (problem is not null) failed++;
}
return failed == 0 ? 0 : 1;
