// BEGIN strategies custom example
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
// END strategies custom example

namespace U2A.Core.Tests.Docs
{
    /// <summary>The code of docs/strategies.md: the "Writing your own" types above (copied from the page), the composition
    /// and usage fragments, compiled and run (<see cref="DocBlocksTests"/> checks that the page holds them verbatim).</summary>
    public class StrategiesExampleTests
    {
        private static SequenceLogProbs Lp(double[] sums, double[] counts) => new(tensor(sums), tensor(counts));

        private static double[] Values(Tensor t) => t.to_type(ScalarType.Float64).cpu().data<double>().ToArray();

        [Fact]
        public void Capped_gradient_ascent_on_hand_numbers()
        {
            using var scope = NewDisposeScope();
            // nll_mean = 6/3 = 2 is capped at 1.5 -> l = -1.5; nll_mean = 1/1 = 1 is below the cap -> l = -1.
            var loss = new CappedGradAscent(cap: 1.5).PerExampleLoss(Lp(new[] { -6.0, -1.0 }, new[] { 3.0, 1.0 }), null);
            Assert.Equal(new[] { -1.5, -1.0 }, Values(loss));
        }

        private static Tensor Composition(ICausalLM model, TokenBatch tokens, Tensor weights)
        {
            // BEGIN strategies composition
            using var regularizer = new ParameterRegularizer(model);                      // theta_0 = now
            using var reference = new ParameterSnapshotReference(model);                  // pi_ref = the model now
            using var forget = ForgetBatch.WithReference(tokens, reference);              // caches lp_ref; takes over tokens
            var inner = new InnerObjective(new Npo(), new IInnerTerm[] { regularizer });
            Tensor loss = inner.Value(model, forget, weights);                            // sum_i w_i l_i + R(theta)
            // END strategies composition
            return loss.detach().clone();
        }

        [Fact]
        public void The_composition_fragment_is_the_weighted_npo_sum_plus_the_regularizer()
        {
            using var scope = NewDisposeScope();
            using var model = DocsKit.TinyModel(seed: 70);
            var tokens = DocsKit.RandomBatch(4, seed: 71);
            var weights = tensor(new[] { 0.1, 0.2, 0.3, 0.4 });
            var loss = Composition(model, tokens, weights);
            // At theta_0 the policy is the reference, so every NPO loss is (2/beta) log 2 and R is 0.
            Assert.Equal(1.0 * (2 / 0.1) * Math.Log(2), loss.ToDouble(), 9);
        }

        [Fact]
        public void The_example_strategy_and_objective_plug_into_the_library()
        {
            using var scope = NewDisposeScope();
            using var model = DocsKit.TinyModel(seed: 60);
            using var forget = new ForgetBatch(DocsKit.RandomBatch(4, seed: 61));
            using var chosenBatch = DocsKit.RandomBatch(3, seed: 62);
            var weights = full(4, 0.25, dtype: ScalarType.Float64);

            // BEGIN strategies usage
            var inner = new InnerObjective(new CappedGradAscent(cap: 5.0));
            Tensor loss = inner.Value(model, forget, weights);
            IAlignmentScorer scorer = new ChosenNllObjective(chosenBatch);
            Tensor j = scorer.Objective(model);
            // END strategies usage

            var grads = autograd.grad(new[] { loss }, model.TrainableParameters.Cast<Tensor>().ToArray());
            Assert.Contains(grads, g => g.abs().sum().ToDouble() > 0);
            var (sum, count) = DocsKit.LogProbsByHand(model, forget.Tokens);
            Assert.Equal(sum.Zip(count, (s, c) => 0.25 * Math.Max(s / c, -5.0)).Sum(), loss.ToDouble(), 10);

            var (cs, cc) = DocsKit.LogProbsByHand(model, chosenBatch);
            Assert.Equal(cs.Zip(cc, (s, c) => -s / c).Average(), j.ToDouble(), 10);
            Assert.Equal(-j.ToDouble(), ((IAlignmentEvaluator)scorer).Evaluate(model), 12);
        }
    }
}
