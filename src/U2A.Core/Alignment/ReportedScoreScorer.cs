using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Core.Alignment;

/// <summary>
/// Pairs the differentiable objective J of one scorer with a different reported PA score, for example the DPO loss on
/// a preference set as J and the mean known reward of generated responses as the score.
/// </summary>
public sealed class ReportedScoreScorer : IAlignmentScorer
{
    private readonly IAlignmentScorer _objective;
    private readonly Func<ICausalLM, CancellationToken, double> _score;

    /// <summary>Creates the scorer.</summary>
    /// <param name="objective">Supplies <see cref="Objective"/>.</param>
    /// <param name="score">Supplies <see cref="Score"/> (higher is better).</param>
    /// <param name="name">Name for logs; defaults to the objective's.</param>
    public ReportedScoreScorer(IAlignmentScorer objective, Func<ICausalLM, CancellationToken, double> score, string? name = null)
    {
        _objective = objective ?? throw new ArgumentNullException(nameof(objective));
        _score = score ?? throw new ArgumentNullException(nameof(score));
        Name = name ?? objective.Name;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public Tensor Objective(ICausalLM model) => _objective.Objective(model);

    /// <inheritdoc />
    public double Score(ICausalLM model, CancellationToken cancellationToken = default) => _score(model, cancellationToken);
}
