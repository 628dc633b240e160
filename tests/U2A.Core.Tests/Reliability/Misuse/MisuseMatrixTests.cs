using static TorchSharp.torch;

namespace U2A.Core.Tests.Reliability.Misuse;

/// <summary>
/// Runs the in-process misuse matrix (<see cref="MisuseMatrix"/>): each case must throw exactly its exception type, with
/// a message that names the field, value or component at fault. In the global-RNG collection because the end-to-end
/// cases run the training loop, which seeds torch's global generator.
/// </summary>
[Collection(U2A.Core.Tests.Training.GlobalRngCollection.Name)]
public class MisuseMatrixTests
{
    public static TheoryData<string> Cases => new(MisuseMatrix.All.Select(c => c.Name));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Misuse_throws_a_dotnet_exception_that_names_the_fault(string name)
    {
        var c = MisuseMatrix.Find(name);
        Exception? thrown;
        using (NewDisposeScope()) thrown = Record.Exception(c.Run);
        Assert.NotNull(thrown);
        Assert.Equal(c.Expected, thrown.GetType());
        foreach (var fragment in c.MessageContains)
            Assert.Contains(fragment, thrown.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void The_matrix_has_at_least_80_distinct_cases_and_none_of_the_once_aborting_ones()
    {
        var names = MisuseMatrix.All.Select(c => c.Name).ToList();
        Assert.True(names.Count >= 80, $"{names.Count} cases");
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.Empty(names.Intersect(U2A.Core.MisuseProbe.AbortCases.All.Select(c => c.Name)));
    }
}
