// BEGIN readme pipeline usings
using U2A.Core.Alignment;      // DpoObjective, IAlignmentScorer (J), IAlignmentEvaluator (PA)
using U2A.Core.Influence;      // IdentityEstimator
using U2A.Core.Models;         // ParameterSnapshotReference, ICausalLM
using U2A.Core.Optimization;   // UnlearningProblem, BilevelOptimizer, BilevelOptions, InnerUnlearningOptions
using U2A.Core.Selection;      // TopKSelector
using U2A.Core.Unlearning;     // InnerObjective, Npo, ParameterRegularizer
using U2A.Testing;             // SyntheticSafetyTask (test kit)
// END readme pipeline usings

namespace U2A.Core.Tests.Docs;

/// <summary>The composition example of README.md, docs/pipeline.md and docs/getting-started.md: it compiles and runs
/// (<see cref="DocBlocksTests"/> checks that the pages hold it verbatim).</summary>
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
}
