using U2A.Core.Alignment;
using U2A.Core.Influence;
using U2A.Core.Models;
using U2A.Core.Optimization;
using U2A.Core.Unlearning;
using U2A.Testing;
using Xunit;
using static TorchSharp.torch;

namespace U2A.Testing.Tests.Docs;

/// <summary>The short part examples of docs/testing.md, compiled here (the DocBlocksTests scanner of U2A.Core.Tests checks
/// that each doc block is the body of one of these regions), and run where they finish in a moment.</summary>
public class TestingDocPartsExamples
{
    [Fact]
    public void Tiny_models_example_runs()
    {
        // BEGIN testing-doc tiny models
        using var gpt2 = TinyModels.Gpt2(seed: 0, dtype: ScalarType.Float64);    // Gpt2LM: width 16, 2 blocks, 2 heads, 32 positions
        using var llama = TinyModels.Llama(seed: 0, vocabularySize: 50);          // LlamaLM: grouped-query attention, rotary positions
        using var batch = TinyBatches.Random(count: 4, gpt2.VocabularySize, seed: 1);  // prompt + response rows, right-padded
        // END testing-doc tiny models
        Assert.Equal(4, batch.Count);
        Assert.Equal(50, llama.VocabularySize);
    }

    [Fact]
    public void Gradient_check_example_runs()
    {
        var myObjective = new ScriptedAlignmentScorer("squared weights", m => m.TrainableParameters.Select(p => p.pow(2).sum()).Aggregate((a, b) => a + b));
        // BEGIN testing-doc gradient check
        using var model = TinyModels.Gpt2(seed: 0, dtype: ScalarType.Float64);
        var report = GradientCheck.Run(model, () => myObjective.Objective(model), new GradientCheckOptions { Coordinates = 12 });
        report.ThrowIfFailed();   // "GradientCheck FAILED: 12 coordinates, 3 outside tolerance ...; worst: parameter 4 [2, 7], finite difference 0.0123 vs autograd 0.0082"
        // END testing-doc gradient check
    }

    /// <summary>Compiled, not run here (the kit's HypergradientCheckTests run the same check on real problems).</summary>
    internal static void HypergradientCheckExample(ICausalLM model, ForgetBatch pool, IAlignmentScorer objective)
    {
        // BEGIN testing-doc hypergradient check
        var problem = new UnlearningProblem(model, pool, new InnerObjective(new Npo()), objective);
        var report = HypergradientCheck.Run(problem, new IdentityEstimator(), new HypergradientCheckOptions { MaxRelativeError = 0.02 });
        report.ThrowIfFailed();   // lists J, sign agreement, correlation and, per example, score, predicted dJ and measured dJ
        // END testing-doc hypergradient check
    }

    [Fact]
    public void Doubles_example_runs()
    {
        using var model = TinyModels.Gpt2(seed: 0);
        using var good = TinyBatches.Random(count: 2, model.VocabularySize, seed: 2);
        // BEGIN testing-doc doubles
        var ga = new ScriptedUnlearner((policy, reference) => policy.Mean);             // any loss; ga.Calls records batch size, reference, grad mode
        var signs = ScriptedUnlearner.WithCoefficients(1, -1, 1, 0);                     // l_i = c_i * policy.Mean_i, batches of 4 only
        var j = new ScriptedAlignmentScorer("good NLL", m => ResponseLogProbs.Compute(m, good).MeanNll.mean());   // j.CallCount
        var pa = ScriptedEvaluator.FromSequence(new[] { 0.2, 0.5, 0.4 });                // PA scores in order; pa.Returned
        // END testing-doc doubles
        Assert.Equal(0.2, pa.Evaluate(model));
        using (var value = j.Objective(model)) Assert.True(value.item<float>() > 0);
        Assert.Equal(1, j.CallCount);
        Assert.NotNull(ga);
        Assert.NotNull(signs);
    }

    [Fact]
    public void Leak_guard_example_runs()
    {
        static void RunOneStep()
        {
            using var scope = NewDisposeScope();
            using var x = ones(3);
            _ = (x * 2).sum();
        }
        // BEGIN testing-doc leak guard
        using (var guard = LiveTensorGuard.Start(allowedGrowth: 0))
        {
            RunOneStep();        // must dispose, or leave in a dispose scope, every tensor it makes
        }                        // throws U2ACheckException when more tensors are alive than at Start

        LiveTensorGuard.CheckNoSteadyGrowth(RunOneStep, iterations: 10, warmUpIterations: 2);   // fails on k tensors leaked per call
        // END testing-doc leak guard
    }
}
