// BEGIN getting-started unlearner
using U2A.Core.Models;
using U2A.Core.Unlearning;
using static TorchSharp.torch;

/// <summary>Sequence unlikelihood: l_i = -log(1 - p_i), where p_i = exp(lp_i / |y_i|) is the response's geometric-mean
/// token probability. Never negative, and its push fades as the response becomes unlikely (gradient ascent's does not).</summary>
public sealed class SequenceUnlikelihood : IUnlearner
{
    public string Name => "SequenceUnlikelihood";
    public bool NeedsReference => false;                 // no pi_ref log-probs needed
    public Tensor PerExampleLoss(SequenceLogProbs policy, SequenceLogProbs? reference) =>
        -(-policy.Mean.clamp_max(-1e-6).exp()).log1p();  // one loss per example, shape [B]; never a batch mean
}
// END getting-started unlearner

namespace U2A.Core.Tests.Docs
{
    using TorchSharp;
    using U2A.Core.Training;
    using U2A.Testing;

    /// <summary>The custom unlearner of docs/getting-started.md and its test, as the page shows them
    /// (<see cref="DocBlocksTests"/> checks that the page holds them verbatim).</summary>
    public class GettingStartedExampleTests
    {
        [Fact]
        public void Sequence_unlikelihood_on_hand_numbers()
        {
            using var scope = NewDisposeScope();
            // lp = -3 over 3 tokens: p = e^-1, l = -log(1 - e^-1); lp = -8 over 2 tokens: p = e^-4, l = -log(1 - e^-4).
            var policy = new SequenceLogProbs(tensor(new[] { -3.0, -8.0 }), tensor(new[] { 3.0, 2.0 }));
            var loss = new SequenceUnlikelihood().PerExampleLoss(policy, null).data<double>().ToArray();
            Assert.Equal(-Math.Log(1 - Math.Exp(-1)), loss[0], 12);
            Assert.Equal(-Math.Log(1 - Math.Exp(-4)), loss[1], 12);
        }

        // BEGIN getting-started test
        [Fact]
        public void Sequence_unlikelihood_unlearns_the_negatives()
        {
            using var scope = NewDisposeScope();
            var task = new SyntheticSafetyTask(seed: 0);                // the kit's toy task with a known reward
            using var model = task.CreateStartingModel(steps: 60);       // a tiny LM fine-tuned to comply with harm
            using var pool = task.ForgetBatch();                         // its negatives, tokenised
            using var inner = new InnerObjective(new SequenceUnlikelihood());

            // 1. One finite, non-negative loss per negative (InnerObjective also checks dtype, device and graph).
            var losses = inner.PerExampleLosses(model, pool);
            Assert.Equal(pool.Count, (int)losses.shape[0]);
            Assert.True(losses.ge(0).all().ToBoolean() && losses.isfinite().all().ToBoolean());

            // 2. Unlearning the whole pool with it, uniform weights, raises the negatives' token-mean NLL.
            double ForgetNll()
            {
                using var noGrad = no_grad();
                return ResponseLogProbs.Compute(model, pool.Tokens).MeanNll.mean().ToDouble();
            }
            double before = ForgetNll();
            var weights = full(pool.Count, 1.0 / pool.Count, dtype: model.DType);
            using var loop = new TrainingLoop(model.TrainableParameters, totalSteps: 20,
                new TrainingLoopOptions { Optimizer = new OptimizerSettings { LearningRate = 1e-3 } });
            loop.Run((step, microBatch) => inner.Value(model, pool, weights));
            Assert.True(ForgetNll() > before, $"forget NLL {before:F3} -> {ForgetNll():F3}");
        }
        // END getting-started test
    }
}
