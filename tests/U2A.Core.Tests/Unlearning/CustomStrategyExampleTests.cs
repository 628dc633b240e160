using TorchSharp;
using U2A.Core.Alignment;
using U2A.Core.Data;
using U2A.Core.Models;
using U2A.Core.Unlearning;
using static TorchSharp.torch;

/// <summary>Gradient ascent that stops pushing once a response is unlikely enough: l_i = -min(nll_mean_i, cap).</summary>
public sealed class CappedGradAscent(double cap) : IUnlearner
{
    public string Name => "CappedGradAscent";
    public bool NeedsReference => false;
    public Tensor PerExampleLoss(SequenceLogProbs policy, SequenceLogProbs? reference) => -policy.MeanNll.clamp_max(cap);
}

/// <summary>J = mean token NLL of preferred responses (lower is better); the score is -J.</summary>
public sealed class ChosenNllObjective(TokenBatch chosen) : IAlignmentScorer, IAlignmentEvaluator
{
    public string Name => "ChosenNll";

    public Tensor Objective(ICausalLM model)
    {
        using var scope = NewDisposeScope();
        return ResponseLogProbs.Compute(model, chosen).MeanNll.mean().MoveToOuterDisposeScope();
    }

    public double Evaluate(ICausalLM model, CancellationToken cancellationToken = default)
    {
        using var noGrad = no_grad();
        using var j = Objective(model);
        return -j.ToDouble();
    }
}

namespace U2A.Core.Tests.Unlearning
{
    using static U2A.Core.Tests.Shared.Fixtures;

    /// <summary>The "Writing your own" example of docs/strategies.md: it compiles (the types above are copied from it), runs, and stays in sync.</summary>
    public class CustomStrategyExampleTests
    {
        [Fact]
        public void Capped_gradient_ascent_on_hand_numbers()
        {
            using var scope = NewDisposeScope();
            // nll_mean = 6/3 = 2 is capped at 1.5 -> l = -1.5; nll_mean = 1/1 = 1 is below the cap -> l = -1.
            var loss = new CappedGradAscent(cap: 1.5).PerExampleLoss(Lp(new[] { -6.0, -1.0 }, new[] { 3.0, 1.0 }), null);
            Assert.Equal(new[] { -1.5, -1.0 }, Values(loss));
        }

        [Fact]
        public void The_example_strategy_and_objective_plug_into_the_library()
        {
            using var scope = NewDisposeScope();
            using var model = TinyModel(seed: 60);
            using var forget = new ForgetBatch(RandomBatch(4, seed: 61));
            using var chosen = RandomBatch(3, seed: 62);

            var inner = new InnerObjective(new CappedGradAscent(cap: 5.0));
            Tensor loss = inner.Value(model, forget, full(4, 0.25, dtype: ScalarType.Float64));
            var grads = autograd.grad(new[] { loss }, model.TrainableParameters.Cast<Tensor>().ToArray());
            Assert.Contains(grads, g => g.abs().sum().ToDouble() > 0);

            IAlignmentScorer scorer = new ChosenNllObjective(chosen);
            Tensor j = scorer.Objective(model);
            var (sum, count) = LogProbsByHand(model, chosen);
            Assert.Equal(sum.Zip(count, (s, c) => -s / c).Average(), j.ToDouble(), 10);
            Assert.Equal(-j.ToDouble(), ((IAlignmentEvaluator)scorer).Evaluate(model), 12);
        }

        [Fact]
        public void The_documented_example_is_this_file_verbatim()
        {
            var root = typeof(CustomStrategyExampleTests).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
                .Cast<System.Reflection.AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!;
            string doc = File.ReadAllText(Path.Combine(root, "docs", "strategies.md")).ReplaceLineEndings("\n");
            string source = File.ReadAllText(Path.Combine(root, "tests", "U2A.Core.Tests", "Unlearning", "CustomStrategyExampleTests.cs")).ReplaceLineEndings("\n");
            int begin = doc.IndexOf("<!-- custom-strategy-example:begin -->", StringComparison.Ordinal);
            int end = doc.IndexOf("<!-- custom-strategy-example:end -->", StringComparison.Ordinal);
            Assert.True(begin >= 0 && end > begin, "markers missing in docs/strategies.md");
            string block = doc[begin..end];
            block = block[(block.IndexOf("```csharp\n", StringComparison.Ordinal) + "```csharp\n".Length)..block.LastIndexOf("```", StringComparison.Ordinal)];
            Assert.StartsWith(block, source, StringComparison.Ordinal);
        }
    }
}
