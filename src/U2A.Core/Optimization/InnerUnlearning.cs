using U2A.Core.Training;
using static TorchSharp.torch;

namespace U2A.Core.Optimization;

/// <summary>The unlearning step of the outer loop: K weighted steps on the selection, from the current parameters.</summary>
internal sealed class InnerUnlearning(UnlearningProblem problem, InnerUnlearningOptions options, long seed)
{
    /// <summary>Runs the inner steps; returns how many ran and the last step's forget loss and forget NLL.</summary>
    public (int Steps, double ForgetLoss, double ForgetNll) Run(IReadOnlyList<int> selected, IReadOnlyList<double> weightsOfSelected,
        int iteration, IProgress<BilevelProgress>? progress, CancellationToken ct)
    {
        var model = problem.Model;
        using var weights = tensor(weightsOfSelected.ToArray(), dtype: ScalarType.Float64, device: model.Device);
        var order = new BatchOrder(selected.Count, Math.Min(options.BatchSize, selected.Count), seed * 1_000_003 + iteration);
        model.SetTraining(true);
        using var loop = new TrainingLoop(model.TrainableParameters, options.Steps, options.Loop);
        int overBound = 0;
        (double Loss, double Nll) last = (double.NaN, double.NaN);
        StepLoss Loss(int step, int micro)
        {
            var positions = order.Batch(loop.MicroBatchIndex(step, micro));
            using var batch = problem.Pool.Select(positions.Select(p => (long)selected[(int)p]).ToArray());
            using var pos = tensor(positions, device: model.Device);
            // Unbiased minibatch estimate of sum_{i in S} w_i l_i, plus the inner terms.
            var loss = problem.Inner.Loss(model, batch, weights.index_select(0, pos), (double)selected.Count / positions.Length);
            // Device tensors: the loop copies them to the host with the loss, in one transfer.
            return new StepLoss(loss.Total, MetricTensors: new Dictionary<string, Tensor>
            {
                ["forget_loss"] = loss.WeightedForget / loss.Weights.sum(), ["forget_nll"] = loss.Policy.MeanNll.mean(),
            });
        }
        try
        {
            var history = loop.Run(Loss, new Progress<TrainingStepMetrics>(m =>
            {
                last = (m.Metrics["forget_loss"], m.Metrics["forget_nll"]);
                progress?.Report(new BilevelProgress(BilevelPhase.Unlearn, iteration, m.Step + 1, options.Steps, null, null, last.Loss));
            }), stopWhen: m =>
            {
                overBound = options.MaxForgetNll is { } bound && m.Metrics["forget_nll"] > bound ? overBound + 1 : 0;
                return overBound >= options.ForgetBoundPatience;
            }, cancellationToken: ct);
            return (history.Count, last.Loss, last.Nll);
        }
        catch (NonFiniteLossException e)
        {
            throw new BilevelNumericalException(BilevelPhase.Unlearn, iteration, e.Step + 1, $"non-finite {e.Quantity} ({e.Value})", e);
        }
        finally
        {
            model.SetTraining(false);
        }
    }

    /// <summary>Reports synchronously (System.Progress would post to a thread pool and reorder reports).</summary>
    private sealed class Progress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
