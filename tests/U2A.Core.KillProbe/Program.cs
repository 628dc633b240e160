// The child process of the checkpoint kill tests. Usage:
//   U2A.Core.KillProbe <checkpoint-folder> <result-file> <outer-iterations> <inner-steps> <restore-best: true|false>
// Resumes from the checkpoint folder when it holds a checkpoint (else starts afresh), runs to completion writing a
// checkpoint after every outer iteration, then writes ProbePipeline.Describe(result) to <result-file> (atomically).
// Standard output, one line each, flushed: "running <completed> <source> <skipped>", "iteration <t>" (before that
// iteration's checkpoint is written), "done". Exit code 0 on success, 2 on an error (message on standard error).
using System.Globalization;
using TorchSharp;
using U2A.Core.Tests.Shared;
using U2A.Core.Optimization;

if (args.Length != 5)
{
    Console.Error.WriteLine("usage: U2A.Core.KillProbe <checkpoint-folder> <result-file> <outer-iterations> <inner-steps> <restore-best>");
    return 2;
}
try
{
    torch.set_num_threads(1); // the same reduction order in every process, so runs compare bitwise
    string folder = args[0], resultFile = args[1];
    int outer = int.Parse(args[2], CultureInfo.InvariantCulture), inner = int.Parse(args[3], CultureInfo.InvariantCulture);
    bool restoreBest = bool.Parse(args[4]);
    using var pipeline = new ProbePipeline();
    BilevelCheckpoint.TryLoad(folder, out var checkpoint);
    using (checkpoint)
    {
        Console.Out.WriteLine($"running {checkpoint?.CompletedIterations ?? -1} {checkpoint?.Source ?? "-"} {checkpoint?.SkippedGenerations.Count ?? 0}");
        Console.Out.Flush();
        var progress = new LineProgress();
        var result = pipeline.Optimizer(ProbePipeline.Options(outer, inner, restoreBest, folder)).Run(progress, resumeFrom: checkpoint);
        string temp = resultFile + ".tmp";
        File.WriteAllText(temp, pipeline.Describe(result));
        File.Move(temp, resultFile, overwrite: true);
    }
    Console.Out.WriteLine("done");
    Console.Out.Flush();
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine(e);
    return 2;
}

/// <summary>Prints "iteration t" when outer iteration t has been evaluated (just before its checkpoint is saved).</summary>
internal sealed class LineProgress : IProgress<BilevelProgress>
{
    public void Report(BilevelProgress value)
    {
        if (value.Phase != BilevelPhase.Evaluate || value.OuterIteration == 0) return;
        Console.Out.WriteLine($"iteration {value.OuterIteration}");
        Console.Out.Flush();
    }
}
