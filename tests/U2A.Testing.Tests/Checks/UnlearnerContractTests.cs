using U2A.Core.Models;
using U2A.Core.Unlearning;
using Xunit;
using static TorchSharp.torch;

namespace U2A.Testing.Tests.Checks;

public class UnlearnerContractTests
{
    [Theory]
    [InlineData("GradAscent")]
    [InlineData("NPO")]
    [InlineData("NPO-token-mean")]
    [InlineData("SimNPO")]
    public void The_library_strategies_keep_the_contract(string strategy)
    {
        var report = UnlearnerContract.Run(TestData.Strategy(strategy));
        Assert.True(report.Passed, report.ToString());
        Assert.Equal(6, report.Properties.Count);
    }

    [Fact]
    public void Gradient_ascent_keeps_the_contract_on_the_tiny_llama_too() =>
        UnlearnerContract.Check(new GradAscent(), new UnlearnerContractOptions { Architecture = TinyArchitecture.Llama, BatchSize = 3, Seed = 2 });

    [Fact]
    public void A_detached_loss_fails_attached_to_the_parameters()
    {
        var report = UnlearnerContract.Run(new ScriptedUnlearner((p, _) => p.Mean.detach(), "Detached"));
        Assert.False(report[UnlearnerContract.Attached].Passed);
        Assert.False(report[UnlearnerContract.FiniteGradients].Checked);
        Assert.True(report[UnlearnerContract.OneLossPerExample].Passed);
        var ex = Assert.Throws<U2ACheckException>(report.ThrowIfFailed);
        Assert.Contains("'Detached' FAILED", ex.Message);
        Assert.Contains("attached to the parameters: FAILED (the losses have no autograd graph", ex.Message);
    }

    [Fact]
    public void A_batch_mean_broadcast_to_every_example_fails_per_example_independence()
    {
        var report = UnlearnerContract.Run(new ScriptedUnlearner((p, _) => p.Mean.mean() * ones_like(p.Mean), "BatchMean"));
        Assert.Equal(new[] { UnlearnerContract.PerExampleIndependence }, report.Failures.Select(f => f.Property));
        Assert.Contains("depends on the other examples of the batch", report[UnlearnerContract.PerExampleIndependence].Detail);
    }

    [Fact]
    public void A_loss_reduced_to_a_scalar_fails_one_loss_per_example()
    {
        var ex = Assert.Throws<U2ACheckException>(() => UnlearnerContract.Check(new ScriptedUnlearner((p, _) => p.Mean.mean(), "Reduced")));
        Assert.Contains("one loss per example: FAILED (returned shape [] for a batch of 4 examples", ex.Message);
        Assert.Contains("per-example independence: not checked", ex.Message);
    }

    [Fact]
    public void A_loss_with_hidden_state_fails_linearity_in_the_weights()
    {
        var report = UnlearnerContract.Run(new RunningNormalisedAscent());
        Assert.False(report[UnlearnerContract.LinearInWeights].Passed);
        Assert.Contains("change from call to call", report[UnlearnerContract.LinearInWeights].Detail);
    }

    [Fact]
    public void A_loss_whose_gradient_is_not_finite_fails_finite_gradients()
    {
        // Value policy.Mean, but sqrt(|0|) on the way: the gradient is inf * 0 = NaN.
        var report = UnlearnerContract.Run(new ScriptedUnlearner((p, _) => (p.Mean - p.Mean.detach()).abs().sqrt() + p.Mean, "SqrtAtZero"));
        Assert.True(report[UnlearnerContract.FiniteLosses].Passed);
        Assert.False(report[UnlearnerContract.FiniteGradients].Passed, report.ToString());
    }

    [Fact]
    public void Linearity_of_a_composed_objective_fails_for_a_term_with_state_and_holds_for_a_plain_term()
    {
        using var model = TinyModels.Gpt2(0, dtype: ScalarType.Float64);
        using var batch = new ForgetBatch(TinyBatches.Random(3, TinyModels.DefaultVocabularySize, seed: 1));
        using (var plain = new InnerObjective(new GradAscent(), new IInnerTerm[] { new SquaredNormTerm(growing: false) }))
            Assert.True(UnlearnerContract.CheckLinearity(plain, model, batch).Passed);
        using var stateful = new InnerObjective(new GradAscent(), new IInnerTerm[] { new SquaredNormTerm(growing: true) });
        var result = UnlearnerContract.CheckLinearity(stateful, model, batch);
        Assert.False(result.Passed);
        Assert.Equal(UnlearnerContract.LinearInWeights, result.Property);
    }

    [Fact]
    public void The_scripted_unlearner_keeps_the_contract_and_records_the_calls_it_got()
    {
        var scripted = new ScriptedUnlearner((p, _) => p.MeanNll * 0.5, "HalfNll");
        UnlearnerContract.Check(scripted);
        Assert.Contains(scripted.Calls, c => c.BatchSize == 4 && c.GradientsEnabled);
        Assert.Contains(scripted.Calls, c => c.BatchSize == 1);
        Assert.Contains(scripted.Calls, c => !c.GradientsEnabled); // the linearity check runs without gradients
        Assert.All(scripted.Calls, c => Assert.False(c.HadReference));
    }

    [Fact]
    public void A_strategy_that_needs_a_reference_gets_reference_log_probs()
    {
        var scripted = new ScriptedUnlearner((p, r) => p.Sum - r!.Sum, "Margin", needsReference: true);
        UnlearnerContract.Check(scripted);
        Assert.All(scripted.Calls, c => Assert.True(c.HadReference));
    }

    /// <summary>GA divided by a running mean of past batch losses: a normaliser kept across calls.</summary>
    private sealed class RunningNormalisedAscent : IUnlearner
    {
        private double _scale = 1;
        public string Name => "RunningNormalisedAscent";
        public bool NeedsReference => false;
        public Tensor PerExampleLoss(SequenceLogProbs policy, SequenceLogProbs? reference)
        {
            var loss = policy.Mean / _scale;
            using (no_grad()) _scale = 0.5 * _scale + 0.5 * Math.Abs(policy.Mean.mean().item<double>());
            return loss;
        }
    }

    /// <summary>||theta_0||^2, times the call count when <c>growing</c> (a term with hidden state).</summary>
    private sealed class SquaredNormTerm(bool growing) : IInnerTerm
    {
        private int _calls;
        public string Name => "SquaredNorm";
        public Tensor Value(ICausalLM model) => model.TrainableParameters[0].square().sum() * (growing ? ++_calls : 1);
    }
}
