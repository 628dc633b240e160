using static TorchSharp.torch;

namespace U2A.Core.Tests.Reliability.Misuse;

/// <summary>Runs one case of the in-process misuse matrix (<see cref="MisuseMatrix"/>).</summary>
internal static class MisuseAssert
{
    /// <summary>Cases that run the training loop, which seeds torch's global generator.</summary>
    public static bool IsWholeRun(string name) => name.StartsWith("run/", StringComparison.Ordinal) || name.StartsWith("dpo-trainer/", StringComparison.Ordinal);

    /// <summary>The case must throw exactly its exception type, with a message naming the field, value or component at fault.</summary>
    public static void ThrowsAsStated(string name)
    {
        var c = MisuseMatrix.Find(name);
        Exception? thrown;
        using (NewDisposeScope()) thrown = Record.Exception(c.Run);
        Assert.NotNull(thrown);
        Assert.Equal(c.Expected, thrown.GetType());
        foreach (var fragment in c.MessageContains)
            Assert.Contains(fragment, thrown.Message, StringComparison.OrdinalIgnoreCase);
    }
}

/// <summary>The misuse matrix's cases that do not touch torch's global generator (they run in parallel with other classes).</summary>
public class MisuseMatrixTests
{
    public static TheoryData<string> Cases => new(MisuseMatrix.All.Select(c => c.Name).Where(n => !MisuseAssert.IsWholeRun(n)));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Misuse_throws_a_dotnet_exception_that_names_the_fault(string name) => MisuseAssert.ThrowsAsStated(name);

    [Fact]
    public void The_matrix_has_at_least_80_distinct_cases_and_none_of_the_once_aborting_ones()
    {
        var names = MisuseMatrix.All.Select(c => c.Name).ToList();
        Assert.True(names.Count >= 80, $"{names.Count} cases");
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.Empty(names.Intersect(U2A.Core.MisuseProbe.AbortCases.All.Select(c => c.Name)));
    }
}

/// <summary>The misuse matrix's end-to-end cases (BilevelOptimizer.Run, DpoTrainer.Train).</summary>
public class MisuseMatrixRunTests
{
    public static TheoryData<string> Cases => new(MisuseMatrix.All.Select(c => c.Name).Where(MisuseAssert.IsWholeRun));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Misuse_of_a_whole_run_throws_a_dotnet_exception_that_names_the_fault(string name) => MisuseAssert.ThrowsAsStated(name);
}
