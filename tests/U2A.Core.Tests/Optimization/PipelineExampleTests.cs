using U2A.Core.Alignment;
using U2A.Core.Influence;
using U2A.Core.Models;
using U2A.Core.Optimization;
using U2A.Core.Selection;
using U2A.Testing;
using U2A.Core.Training;
using U2A.Core.Unlearning;

namespace U2A.Core.Tests.Optimization;

/// <summary>The composition example of docs/pipeline.md and the README: it compiles, runs, and both documents hold it verbatim.</summary>
public class PipelineExampleTests
{
    private static BilevelResult Example(TextWriter console)
    {
        // BEGIN pipeline example
        var task = new SyntheticSafetyTask(seed: 0);
        using var model = task.CreateStartingModel(steps: 60);      // any ICausalLM: GPT-2, Llama, a LoraModel, ...
        using var start = new ParameterSnapshotReference(model);     // pi_ref: the starting trainable weights, frozen
        using var pool = task.ForgetBatch(reference: start);         // candidate negatives, reference log-probs cached once
        using var prefs = task.PreferenceBatch(start);               // held-out preference pairs for J
        using var regularizer = new ParameterRegularizer(model);     // R: keeps theta near its start

        var j = new DpoObjective(prefs);                              // J: DPO loss on held-out pairs, lower is better
        var problem = new UnlearningProblem(model, pool,
            new InnerObjective(new Npo(), new[] { regularizer }),    // inner: L(theta; w) = sum_i w_i l_i + R
            j);                                                       // outer: J, what the hypergradient differentiates
        var optimizer = new BilevelOptimizer(problem,
            new TopKSelector(k: 12),                                  // IExampleSelector
            new IdentityEstimator(),                                  // IHypergradientEstimator: H ~ I
            j,                                                        // IAlignmentEvaluator: the PA score, here -J
                                                                      // (or AlignmentEvaluator.From("name", (model, ct) => ...))
            new BilevelOptions { OuterIterations = 2, Inner = new InnerUnlearningOptions { Steps = 5 } });

        var result = optimizer.Run(new Progress<BilevelProgress>(p => console.WriteLine(p)));
        console.WriteLine($"selected {result.SelectedIndices.Count}: PA {result.History[0].PaScore:F3} -> {result.History[result.BestIteration].PaScore:F3}");
        // END pipeline example
        return result;
    }

    [Fact]
    public void Pipeline_example_runs()
    {
        var output = new StringWriter();
        var result = Example(output);
        Assert.InRange(result.History.Count, 2, 3); // the start, then one or two outer iterations (PA patience 1)
        // What the example is for: unlearning the selected negatives raised the PA score (-J) above the start's, and the
        // console line reports exactly those figures.
        Assert.True(result.BestIteration > 0, $"no outer iteration improved the PA score: {string.Join(", ", result.History.Select(h => h.PaScore))}");
        Assert.True(result.History[result.BestIteration].PaScore > result.History[0].PaScore);
        Assert.Contains($"selected 12: PA {result.History[0].PaScore:F3} -> {result.History[result.BestIteration].PaScore:F3}", output.ToString());
    }

    [Fact]
    public void Docs_hold_the_example_verbatim()
    {
        string root = typeof(PipelineExampleTests).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!;
        string Block(string text) => text[(text.IndexOf("// BEGIN pipeline example", StringComparison.Ordinal))..(text.IndexOf("// END pipeline example", StringComparison.Ordinal))];
        var code = Block(File.ReadAllText(Path.Combine(root, "tests", "U2A.Core.Tests", "Optimization", "PipelineExampleTests.cs")));
        string Normalize(string s) => string.Join("\n", s.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));
        foreach (var page in new[] { Path.Combine(root, "docs", "pipeline.md"), Path.Combine(root, "README.md") })
            Assert.Equal(Normalize(code), Normalize(Block(File.ReadAllText(page))));
    }
}
