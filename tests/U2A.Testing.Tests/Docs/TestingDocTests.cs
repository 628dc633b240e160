using System.Reflection;
using Xunit;

namespace U2A.Testing.Tests.Docs;

public class TestingDocTests
{
    private static string RepoRoot => typeof(TestingDocTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!;

    private static string Block(string text, string source)
    {
        int begin = text.IndexOf("// BEGIN testing-doc example", StringComparison.Ordinal);
        int end = text.IndexOf("// END testing-doc example", StringComparison.Ordinal);
        Assert.True(begin >= 0 && end > begin, $"{source} has no '// BEGIN testing-doc example' ... '// END testing-doc example' region");
        return text[begin..end];
    }

    private static string Normalize(string s) => string.Join("\n", s.Replace("\r", "").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));

    [Fact]
    public void The_doc_holds_the_compiled_example_verbatim()
    {
        string code = Path.Combine(RepoRoot, "tests", "U2A.Testing.Tests", "Docs", "SoftplusAscentExample.cs");
        string doc = Path.Combine(RepoRoot, "docs", "testing.md");
        Assert.Equal(Normalize(Block(File.ReadAllText(code), code)), Normalize(Block(File.ReadAllText(doc), doc)));
    }

    [Fact]
    public void The_package_readme_lists_every_part_of_the_kit()
    {
        string readme = File.ReadAllText(Path.Combine(RepoRoot, "src", "U2A.Testing", "PACKAGE.md"));
        foreach (var part in new[] { nameof(TinyModels), nameof(GradientCheck), nameof(HypergradientCheck), nameof(UnlearnerContract), nameof(ScriptedUnlearner),
            nameof(ScriptedAlignmentScorer), nameof(ScriptedEvaluator), nameof(LiveTensorGuard), nameof(U2ACheckException) })
            Assert.Contains(part, readme);
        Assert.DoesNotContain("](../", readme); // a package readme has no repository links
    }
}
