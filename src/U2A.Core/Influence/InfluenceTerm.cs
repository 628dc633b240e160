using static TorchSharp.torch;

namespace U2A.Core.Influence;

/// <summary>
/// One term of an influence direction: scores get <c>&lt;grad l_i(Point), Direction&gt;</c> from it.
/// <see cref="Point"/> is null for "at the current parameters" (implicit estimators); unrolled estimators
/// evaluate per-example gradients at earlier inner iterates.
/// </summary>
/// <param name="Point">Parameter values to evaluate the per-example gradients at, or null for the current ones.</param>
/// <param name="Direction">The direction, shaped like the parameters.</param>
public sealed record InfluenceTerm(IReadOnlyList<Tensor>? Point, IReadOnlyList<Tensor> Direction);
