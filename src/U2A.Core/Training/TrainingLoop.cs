using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace U2A.Core.Training;

/// <summary>
/// A small, reusable first-order training loop over an explicit parameter list: for each optimizer step it calls a
/// <see cref="StepLossFunction"/> once per micro-batch, backpropagates <c>loss / N</c>, measures (and optionally
/// clips) the global gradient norm, sets the scheduled learning rate and applies the optimizer update.
/// </summary>
/// <remarks>
/// <para>Guarantees: the step that observes a non-finite loss or gradient norm throws
/// <see cref="NonFiniteLossException"/> before updating anything; cancellation is observed before each step and
/// between micro-batches and throws <see cref="OperationCanceledException"/> with the parameters as they were after
/// the last completed step. Both leave the gradients zeroed.</para>
/// <para>Determinism: with a seeded loss function the run is a function of (initial parameters, options); on CPU it
/// repeats bitwise. <see cref="CaptureState"/>/<see cref="RestoreState"/> resume a run bitwise-identically (with the
/// parameter values restored by the caller).</para>
/// <para>The loop owns its optimizer; dispose the loop when done.</para>
/// </remarks>
public sealed class TrainingLoop : IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly optim.Optimizer _optimizer;
    private readonly ILogger _logger;

    /// <summary>Creates the loop and its optimizer over <paramref name="parameters"/> for a run of <paramref name="totalSteps"/> steps.</summary>
    /// <exception cref="ArgumentException">An option is invalid (the message names it).</exception>
    public TrainingLoop(IReadOnlyList<Parameter> parameters, int totalSteps, TrainingLoopOptions? options = null, ILogger<TrainingLoop>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Count == 0) throw new ArgumentException("parameters must not be empty.", nameof(parameters));
        Require.AtLeastOne(totalSteps, "TrainingLoop.totalSteps");
        Options = options ?? new TrainingLoopOptions();
        Options.Validate();
        TotalSteps = totalSteps;
        _parameters = parameters.ToArray();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _optimizer = Options.Optimizer.Create(_parameters);
    }

    /// <summary>The validated options.</summary>
    public TrainingLoopOptions Options { get; }

    /// <summary>Total optimizer steps of the run (the schedule's <c>T</c>).</summary>
    public int TotalSteps { get; }

    /// <summary>Optimizer steps completed so far; the next step's 0-based index.</summary>
    public int CompletedSteps { get; private set; }

    /// <summary>The parameters being trained, in order.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>The TorchSharp optimizer (owned by the loop).</summary>
    public optim.Optimizer Optimizer => _optimizer;

    /// <summary>The scheduled learning rate of 0-based step <paramref name="step"/>.</summary>
    public double LearningRateAt(int step) => Options.Schedule.At(Options.Optimizer.LearningRate, step, TotalSteps);

    /// <summary>The global micro-batch index <c>step * N + microBatch</c> (N = gradient-accumulation steps), for data orders such as <see cref="BatchOrder.Batch"/>.</summary>
    public long MicroBatchIndex(int step, int microBatch) => (long)step * Options.GradientAccumulationSteps + microBatch;

    /// <summary>Runs one optimizer step (step index <see cref="CompletedSteps"/>).</summary>
    /// <exception cref="NonFiniteLossException">A micro-batch loss or the gradient norm was not finite; nothing was updated.</exception>
    /// <exception cref="OperationCanceledException">Cancelled before or during the step; nothing was updated.</exception>
    /// <exception cref="InvalidOperationException">All <see cref="TotalSteps"/> steps are done.</exception>
    public TrainingStepMetrics Step(StepLossFunction lossFunction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lossFunction);
        if (CompletedSteps >= TotalSteps) throw new InvalidOperationException($"the run's {TotalSteps} steps are all done.");
        cancellationToken.ThrowIfCancellationRequested();
        int step = CompletedSteps, n = Options.GradientAccumulationSteps;
        double lr = LearningRateAt(step);
        ZeroGrad();
        double loss = 0;
        var metrics = new Dictionary<string, double>();
        try
        {
            for (int m = 0; m < n; m++)
            {
                if (m > 0) cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var output = lossFunction(step, m);
                if (output.Loss is null) throw new InvalidOperationException($"the loss function returned no loss at step {step}, micro-batch {m}.");
                if (output.Loss.numel() != 1) throw new InvalidOperationException($"the loss at step {step}, micro-batch {m} must be a scalar, got shape [{string.Join(", ", output.Loss.shape)}].");
                // The loss and any tensor metrics reach the host in one transfer.
                var tensorMetrics = output.MetricTensors ?? new Dictionary<string, Tensor>();
                foreach (var (key, t) in tensorMetrics)
                    if (t is null || t.numel() != 1) throw new InvalidOperationException($"metric '{key}' at step {step}, micro-batch {m} must be a one-element tensor.");
                var host = stack(new[] { output.Loss }.Concat(tensorMetrics.Values)
                        .Select(t => t.detach().reshape(Array.Empty<long>()).to_type(ScalarType.Float64)).ToArray())
                    .cpu().data<double>().ToArray();
                double value = host[0];
                if (!double.IsFinite(value)) throw new NonFiniteLossException(step, m, "loss", value);
                int k = 1;
                foreach (var key in tensorMetrics.Keys) metrics[key] = metrics.GetValueOrDefault(key) + host[k++] / n;
                (n == 1 ? output.Loss : output.Loss / n).backward();
                loss += value / n;
                if (output.Metrics is not null)
                    foreach (var (key, v) in output.Metrics) metrics[key] = metrics.GetValueOrDefault(key) + v / n;
            }
            double gradNorm;
            using (var clipScope = NewDisposeScope()) // clip_grad_norm_ allocates per-parameter norms
                gradNorm = nn.utils.clip_grad_norm_(_parameters, Options.MaxGradNorm ?? double.PositiveInfinity);
            if (!double.IsFinite(gradNorm)) throw new NonFiniteLossException(step, null, "gradient norm", gradNorm);
            LearningRateSchedule.Apply(_optimizer, lr);
            using (var scope = NewDisposeScope()) _optimizer.step();
            CompletedSteps++;
            var result = new TrainingStepMetrics(step, lr, loss, gradNorm, metrics);
            if (_logger.IsEnabled(LogLevel.Debug))
                _logger.LogDebug("step {Step}/{TotalSteps} lr {LearningRate:G4} loss {Loss:G6} grad_norm {GradNorm:G4}", step + 1, TotalSteps, lr, loss, gradNorm);
            return result;
        }
        catch (Exception ex)
        {
            ZeroGrad();
            if (ex is NonFiniteLossException)
                _logger.LogWarning("{Message}", ex.Message);
            throw;
        }
    }

    /// <summary>
    /// Runs steps until <see cref="TotalSteps"/> are done, or <paramref name="maxSteps"/> more have run, or
    /// <paramref name="stopWhen"/> returns true after a step. Reports each step to <paramref name="progress"/>
    /// (synchronously; note that <see cref="Progress{T}"/> itself posts to a synchronization context).
    /// </summary>
    /// <returns>The metrics of the steps this call ran.</returns>
    public IReadOnlyList<TrainingStepMetrics> Run(StepLossFunction lossFunction, IProgress<TrainingStepMetrics>? progress = null,
        int? maxSteps = null, Func<TrainingStepMetrics, bool>? stopWhen = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lossFunction);
        if (maxSteps is < 0) throw new ArgumentOutOfRangeException(nameof(maxSteps), maxSteps, "maxSteps must be non-negative.");
        int end = maxSteps is { } k ? (int)Math.Min(TotalSteps, (long)CompletedSteps + k) : TotalSteps;
        var history = new List<TrainingStepMetrics>();
        while (CompletedSteps < end)
        {
            var metrics = Step(lossFunction, cancellationToken);
            history.Add(metrics);
            progress?.Report(metrics);
            if (stopWhen?.Invoke(metrics) == true) break;
        }
        return history;
    }

    /// <summary>Snapshots the loop's state (optimizer state, completed steps and, when <paramref name="includeRng"/>, torch's CPU generator).</summary>
    internal TrainingLoopState CaptureState(bool includeRng = false)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
            Helper.save_state_dict(writer);
        byte[]? rng = null;
        if (includeRng)
        {
            using var state = get_rng_state();
            rng = state.data<byte>().ToArray();
        }
        return new TrainingLoopState(CompletedSteps, _parameters.Length, _parameters.Sum(p => p.numel()), buffer.ToArray(), rng);
    }

    /// <summary>
    /// Restores a state captured by <see cref="CaptureState"/> from a loop over parameters of the same shapes and the
    /// same options. Restore the parameter values of that moment too (they are not part of the state).
    /// </summary>
    internal void RestoreState(TrainingLoopState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        long elements = _parameters.Sum(p => p.numel());
        if (state.ParameterCount != _parameters.Length || state.ParameterElements != elements)
            throw new ArgumentException($"the state is for {state.ParameterCount} parameters ({state.ParameterElements} elements), this loop trains {_parameters.Length} ({elements}).", nameof(state));
        if (state.CompletedSteps < 0 || state.CompletedSteps > TotalSteps)
            throw new ArgumentException($"the state has {state.CompletedSteps} completed steps, outside this run of {TotalSteps}.", nameof(state));
        using (var buffer = new MemoryStream(state.OptimizerState, writable: false))
        using (var reader = new BinaryReader(buffer))
            Helper.load_state_dict(reader);
        if (state.CpuRngState is not null)
        {
            using var rng = tensor(state.CpuRngState);
            set_rng_state(rng);
        }
        CompletedSteps = state.CompletedSteps;
    }

    private OptimizerHelper Helper => _optimizer as OptimizerHelper
        ?? throw new NotSupportedException($"{_optimizer.GetType().Name} does not support state save/restore.");

    // zero_grad reads each p.grad, and every read returns a fresh handle: scope them.
    private void ZeroGrad()
    {
        using var scope = NewDisposeScope();
        _optimizer.zero_grad();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _optimizer.Dispose();
    }
}
