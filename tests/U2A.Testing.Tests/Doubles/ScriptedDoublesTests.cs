using U2A.Core.Models;
using U2A.Core.Optimization;
using U2A.Core.Selection;
using U2A.Core.Unlearning;
using U2A.Core.Influence;
using Xunit;
using static TorchSharp.torch;

namespace U2A.Testing.Tests.Doubles;

public class ScriptedDoublesTests
{
    [Fact]
    public void Coefficient_unlearner_scales_each_examples_mean_log_prob_and_refuses_other_batch_sizes()
    {
        var unlearner = ScriptedUnlearner.WithCoefficients(2, 0, -1);
        using var scope = NewDisposeScope();
        var lp = new SequenceLogProbs(tensor(new[] { -4.0, -6.0, -3.0 }), tensor(new[] { 2.0, 3.0, 1.0 }));
        Assert.Equal(new[] { -4.0, 0.0, 3.0 }, unlearner.PerExampleLoss(lp, null).data<double>().ToArray());
        var small = new SequenceLogProbs(tensor(new[] { -1.0 }), tensor(new[] { 1.0 }));
        Assert.Contains("3 coefficients but got a batch of 1", Assert.Throws<InvalidOperationException>(() => unlearner.PerExampleLoss(small, null)).Message);
        Assert.Equal(2, unlearner.CallCount);
        Assert.Throws<ArgumentException>(() => ScriptedUnlearner.WithCoefficients(1, double.NaN));
    }

    [Fact]
    public void Scripted_unlearner_records_batch_size_reference_and_gradient_mode()
    {
        var unlearner = new ScriptedUnlearner((p, _) => p.Mean, "GA-double", needsReference: false);
        using var model = TinyModels.Gpt2(0, dtype: ScalarType.Float64);
        using var batch = new ForgetBatch(TinyBatches.Random(3, TinyModels.DefaultVocabularySize, seed: 0));
        using var inner = new InnerObjective(unlearner);
        using (NewDisposeScope())
        {
            inner.PerExampleLosses(model, batch);
            using (no_grad()) inner.PerExampleLosses(model, batch);
        }
        Assert.Equal(new[] { new ScriptedUnlearnerCall(3, false, true), new ScriptedUnlearnerCall(3, false, false) }, unlearner.Calls);
    }

    [Fact]
    public void Scripted_scorer_returns_its_function_and_counts_calls()
    {
        using var model = TinyModels.Gpt2(0, dtype: ScalarType.Float64);
        var scorer = new ScriptedAlignmentScorer("first weight", m => m.TrainableParameters[0].sum());
        using (NewDisposeScope())
        {
            var j = scorer.Objective(model);
            Assert.True(j.requires_grad);
            Assert.Equal(model.TrainableParameters[0].sum().item<double>(), j.item<double>());
        }
        Assert.Equal(1, scorer.CallCount);
        Assert.Throws<ArgumentException>(() => new ScriptedAlignmentScorer(" ", m => m.TrainableParameters[0].sum()));
    }

    [Fact]
    public void Scripted_evaluator_returns_its_sequence_then_refuses_or_repeats_and_records_what_it_returned()
    {
        using var model = TinyModels.Gpt2(0);
        var pa = ScriptedEvaluator.FromSequence(new[] { 0.1, 0.3 });
        Assert.Equal(0.1, pa.Evaluate(model));
        Assert.Equal(0.3, pa.Evaluate(model));
        Assert.Contains("scripted 2 scores, but was called for call number 3", Assert.Throws<InvalidOperationException>(() => pa.Evaluate(model)).Message);
        Assert.Equal(new[] { 0.1, 0.3 }, pa.Returned);
        var repeating = ScriptedEvaluator.FromSequence(new[] { 0.5 }, repeatLast: true);
        Assert.Equal(new[] { 0.5, 0.5, 0.5 }, Enumerable.Range(0, 3).Select(_ => repeating.Evaluate(model)));
        var byCall = ScriptedEvaluator.FromFunction((_, call) => call * 10.0);
        Assert.Equal(new[] { 0.0, 10.0 }, new[] { byCall.Evaluate(model), byCall.Evaluate(model) });
        Assert.Throws<ArgumentException>(() => ScriptedEvaluator.FromSequence(Array.Empty<double>()));
    }

    [Fact]
    public void Scripted_pa_scores_drive_the_optimizers_early_stopping_and_best_iteration()
    {
        using var f = new TestData.Problem(new GradAscent());
        // PA improves at iteration 1, then falls: with patience 1 the run stops after iteration 2 and keeps iteration 1.
        var pa = ScriptedEvaluator.FromSequence(new[] { 0.2, 0.5, 0.4, 0.9 });
        var options = new BilevelOptions
        {
            OuterIterations = 3,
            Inner = new InnerUnlearningOptions { Steps = 1, BatchSize = 6 },
            Scoring = new InfluenceScoringOptions { HessianBatchSize = 6 },
            Stopping = new StoppingOptions { PaPatience = 1 },
        };
        var result = new BilevelOptimizer(f.Unlearning, new AllUniformSelector(), new IdentityEstimator(), pa, options).Run();
        Assert.Equal(3, pa.CallCount);
        Assert.Equal(new[] { 0.2, 0.5, 0.4 }, result.History.Select(h => h.PaScore));
        Assert.Equal(1, result.BestIteration);
    }
}
