using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using U2A.Core.Data;
using U2A.Core.Influence;
using U2A.Core.Models;
using U2A.Core.Training;
using static TorchSharp.torch;
using U2A.Core.Unlearning;

namespace U2A.Core.Alignment;

/// <summary>The outcome of <see cref="DpoTrainer.Train"/>.</summary>
/// <param name="History">Per-step metrics; <see cref="TrainingStepMetrics.Metrics"/> holds TRL's keys (see <see cref="DpoMetrics"/>), measured on each step's pairs before its update.</param>
/// <param name="Steps">Optimizer steps run.</param>
public sealed record DpoTrainingResult(IReadOnlyList<TrainingStepMetrics> History, int Steps);
