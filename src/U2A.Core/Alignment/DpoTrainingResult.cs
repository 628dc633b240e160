using U2A.Core.Training;

namespace U2A.Core.Alignment;

/// <summary>The outcome of <see cref="DpoTrainer.Train"/>.</summary>
/// <param name="History">Per-step metrics; <see cref="TrainingStepMetrics.Metrics"/> holds TRL's keys (see <see cref="DpoMetrics"/>), measured on each step's pairs before its update.</param>
/// <param name="Steps">Optimizer steps run.</param>
public sealed record DpoTrainingResult(IReadOnlyList<TrainingStepMetrics> History, int Steps);
