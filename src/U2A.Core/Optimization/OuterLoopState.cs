using U2A.Core.Influence;
using static TorchSharp.torch;

namespace U2A.Core.Optimization;

/// <summary>The outer loop's mutable state: selection, weights, history, best PA score so far; and its checkpoint form.</summary>
internal sealed class OuterLoopState(double[] initialScores, int[] selected, double[] weights, string fingerprint) : IDisposable
{
    public double[] InitialScores { get; } = initialScores;
    public int[] Selected { get; } = selected;
    public double[] Weights { get; set; } = weights;
    public List<OuterIterationRecord> History { get; } = new();
    public int CompletedIterations { get; set; }
    public int BestIteration { get; private set; }
    public double BestPa { get; private set; } = double.NegativeInfinity;
    public int IterationsWithoutImprovement { get; private set; }
    public Tensor[]? BestParameters { get; private set; }
    public string Fingerprint { get; } = fingerprint;

    /// <summary>Records an iteration; returns whether its PA score improved on the best so far (then keeps the parameters when asked).</summary>
    public bool Record(OuterIterationRecord record, IReadOnlyList<Tensor> parameters, bool keepBestParameters)
    {
        History.Add(record);
        CompletedIterations = record.Iteration;
        if (record.PaScore > BestPa)
        {
            BestPa = record.PaScore; BestIteration = record.Iteration; IterationsWithoutImprovement = 0;
            if (keepBestParameters)
            {
                if (BestParameters is not null) ParameterVector.DisposeAll(BestParameters);
                BestParameters = ParameterVector.Clone(parameters);
                foreach (var t in BestParameters) t.DetachFromDisposeScope();
            }
            return true;
        }
        IterationsWithoutImprovement++;
        return false;
    }

    /// <summary>The state of a checkpoint (validated against the run by the caller), whose parameters the caller has put back.</summary>
    public static OuterLoopState FromCheckpoint(BilevelCheckpoint checkpoint, string fingerprint)
    {
        var state = new OuterLoopState(checkpoint.InitialScores, checkpoint.SelectedIndices, checkpoint.Weights, fingerprint)
        {
            CompletedIterations = checkpoint.CompletedIterations,
            BestIteration = checkpoint.BestIteration,
            IterationsWithoutImprovement = checkpoint.IterationsWithoutImprovement,
            BestPa = checkpoint.History.First(h => h.Iteration == checkpoint.BestIteration).PaScore,
        };
        state.History.AddRange(checkpoint.History);
        if (checkpoint.BestParameters is not null) state.BestParameters = ParameterVector.Clone(checkpoint.BestParameters);
        return state;
    }

    /// <summary>A checkpoint that borrows the live tensors: save it, never dispose it.</summary>
    public BilevelCheckpoint ToCheckpoint(IReadOnlyList<Tensor> parameters) => new()
    {
        CompletedIterations = CompletedIterations, InitialScores = InitialScores, SelectedIndices = Selected,
        Weights = Weights, History = History.ToArray(), BestIteration = BestIteration,
        IterationsWithoutImprovement = IterationsWithoutImprovement,
        Parameters = parameters.ToArray(), BestParameters = BestParameters, Fingerprint = Fingerprint,
    };

    public BilevelResult ToResult(string stopReason, IReadOnlyDictionary<BilevelPhase, TimeSpan> phaseTimes) =>
        new(InitialScores, Selected, Weights, History.ToArray(), BestIteration, stopReason, phaseTimes);

    public void Dispose()
    {
        if (BestParameters is not null) ParameterVector.DisposeAll(BestParameters);
    }
}
