using U2A.Core.Alignment;
using U2A.Core.Data;
using U2A.Core.Influence;
using U2A.Core.Models;
using U2A.Testing;
using U2A.Core.Unlearning;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Shared;

/// <summary>
/// A float64 tiny LM on the synthetic safety task: the forget pool, a DPO objective J on the preference set, and
/// GradAscent + a parameter regulariser as the inner objective, wired into a <see cref="BilevelProblem"/> whose weights
/// can be changed. <see cref="JAfterInner"/> reruns K plain gradient steps of the weighted inner objective from the
/// starting parameters and returns J there.
/// </summary>
internal sealed class TinyLmFixture : IDisposable
{
    public readonly SyntheticSafetyTask Task;
    public readonly TinyTransformerLM Model;
    public readonly ParameterSnapshotReference Start;
    public readonly ForgetBatch Pool;
    public readonly PreferenceBatch Preferences;
    public readonly DpoObjective Objective;
    public readonly InnerObjective Inner;
    public double[] Weights;

    public TinyLmFixture(int seed = 1, int trueNegatives = 8, int mislabeled = 4, double regularizer = 0.1)
    {
        Task = new SyntheticSafetyTask(seed, trueNegatives, mislabeled, preferencePairs: 8);
        Model = new TinyTransformerLM(Task.Tokenizer.VocabSize, width: 16, layers: 1, heads: 2, maxLength: 16, seed: seed, dtype: ScalarType.Float64);
        Model.SetTraining(false);
        Start = new ParameterSnapshotReference(Model);
        Pool = Task.ForgetBatch();
        Preferences = Task.PreferenceBatch(Start);
        Objective = new DpoObjective(Preferences);
        Inner = new InnerObjective(new GradAscent(), new[] { new ParameterRegularizer(Model, new ParameterRegularizerOptions(regularizer)) });
        Weights = Enumerable.Repeat(1.0 / Pool.Count, Pool.Count).ToArray();
    }

    public int N => Pool.Count;

    public Tensor InnerLoss(double[] weights)
    {
        using var w = tensor(weights, dtype: ScalarType.Float64);
        return Inner.Value(Model, Pool, w);
    }

    public BilevelProblem Problem() => new(Model.TrainableParameters, () => InnerLoss(Weights), () => Objective.Objective(Model),
        idx => { using var b = Pool.Select(idx); return Inner.PerExampleLosses(Model, b); }, N);

    public double J()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return Objective.Objective(Model).item<double>();
    }

    /// <summary>J after K gradient-descent steps of the weighted inner objective from the starting parameters; parameters are restored.</summary>
    public double JAfterInner(double[] weights, int steps, double learningRate)
    {
        Start.Restore();
        var parameters = Model.TrainableParameters;
        for (int k = 0; k < steps; k++)
        {
            using var scope = NewDisposeScope();
            var grads = autograd.grad(new[] { InnerLoss(weights) }, parameters.Cast<Tensor>().ToArray());
            using (no_grad()) for (int i = 0; i < parameters.Count; i++) parameters[i].sub_(grads[i] * learningRate);
        }
        double j = J();
        Start.Restore();
        return j;
    }

    /// <summary>
    /// J after the real inner unlearning: <paramref name="steps"/> AdamW steps of the weighted inner objective through
    /// <see cref="U2A.Core.Training.TrainingLoop"/> (as BilevelOptimizer runs it), from the starting parameters; parameters are restored.
    /// </summary>
    public double JAfterAdamW(double[] weights, int steps, double learningRate)
    {
        Start.Restore();
        var options = new U2A.Core.Training.TrainingLoopOptions { Optimizer = new U2A.Core.Training.OptimizerSettings { LearningRate = learningRate } };
        using (var loop = new U2A.Core.Training.TrainingLoop(Model.TrainableParameters, steps, options))
            loop.Run((_, _) => InnerLoss(weights));
        double j = J();
        Start.Restore();
        return j;
    }

    public void Dispose()
    {
        Pool.Dispose();
        Preferences.Dispose();
        Start.Dispose();
        Model.Dispose();
    }
}
