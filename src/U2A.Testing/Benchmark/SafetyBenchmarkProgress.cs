using System.Diagnostics;
using U2A.Core.Alignment;
using U2A.Core.Data;
using U2A.Core.Evaluation;
using U2A.Core.Influence;
using U2A.Core.Models;
using U2A.Core.Optimization;
using U2A.Core.Selection;
using U2A.Core.Training;
using U2A.Core.Unlearning;
using static TorchSharp.torch;

namespace U2A.Testing.Benchmark;

/// <summary>A progress report of a benchmark run.</summary>
/// <param name="Message">What was just done.</param>
/// <param name="Fraction">Share of the run's method runs completed, in [0, 1].</param>
public sealed record SafetyBenchmarkProgress(string Message, double Fraction);
