using TorchSharp;
using U2A.Core.Data;
using U2A.Core.Influence;
using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Core.Alignment;

/// <summary>
/// A differentiable reward objective: minus the policy-normalised expected reward over fixed candidate responses.
/// For prompt <c>p</c> with candidates <c>c_1..c_m</c> and rewards <c>r_p,j</c>,
/// <c>q_p,j = softmax_j(lp_theta(c_j | p))</c> (summed response log-probs) and <c>J = -(1/P) sum_p sum_j q_p,j r_p,j</c>.
/// The reported score is the mean reward of responses generated for held-out prompts (<see cref="GeneratedRewardEvaluation"/>),
/// or, when none is given, the expected candidate reward <c>-J</c>.
/// </summary>
/// <remarks>
/// Candidates are rows of one token batch, prompt-major: row <c>p*m + j</c> is candidate <c>j</c> of prompt <c>p</c>.
/// The rewards are computed once, at construction (the candidates are fixed), so they are constants in J.
/// The batch stays the caller's.
/// </remarks>
public sealed class RewardObjective : IAlignmentScorer, IAlignmentEvaluator, IDisposable
{
    private readonly TokenBatch _candidates;
    private readonly Tensor _rewards; // [P, m], float64
    private readonly GeneratedRewardEvaluation? _evaluation;

    /// <summary>The objective over <paramref name="candidates"/> (<paramref name="candidatesPerPrompt"/> rows per prompt), rewarded by <paramref name="rewardModel"/>.</summary>
    public RewardObjective(TokenBatch candidates, int candidatesPerPrompt, IRewardModel rewardModel,
        GeneratedRewardEvaluation? evaluation = null, RewardObjectiveOptions? options = null)
    {
        _candidates = candidates ?? throw new ArgumentNullException(nameof(candidates));
        ArgumentNullException.ThrowIfNull(rewardModel);
        Require.AtLeastOne(candidatesPerPrompt, nameof(candidatesPerPrompt));
        if (candidates.Count % candidatesPerPrompt != 0)
            throw new ArgumentException($"the batch has {candidates.Count} rows, not a multiple of candidatesPerPrompt = {candidatesPerPrompt}.", nameof(candidates));
        Options = options ?? new RewardObjectiveOptions();
        Options.Validate();
        evaluation?.Validate();
        _evaluation = evaluation;
        CandidatesPerPrompt = candidatesPerPrompt;
        PromptCount = candidates.Count / candidatesPerPrompt;

        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var parts = new List<Tensor>();
        foreach (var rows in RowChunks())
        {
            var chunk = rows.Length == candidates.Count ? candidates : candidates.Select(rows);
            var r = rewardModel.Rewards(chunk);
            if (r.dim() != 1 || r.shape[0] != rows.Length)
                throw new ArgumentException($"the reward model returned shape [{string.Join(", ", r.shape)}] for {rows.Length} sequences; expected [{rows.Length}].", nameof(rewardModel));
            parts.Add(r.to(ScalarType.Float64, CPU));
        }
        var rewards = cat(parts, 0);
        var bad = rewards.isfinite().logical_not().nonzero();
        if (bad.shape[0] > 0)
        {
            long row = bad[0, 0].ToInt64();
            throw new ArgumentException($"the reward model {rewardModel.GetType().Name} gave candidate {row} the reward {rewards[row].ToDouble()}; rewards must be finite.", nameof(rewardModel));
        }
        _rewards = rewards.reshape(PromptCount, candidatesPerPrompt).DetachFromDisposeScope();
    }

    /// <summary>The options.</summary>
    public RewardObjectiveOptions Options { get; }

    /// <summary>Candidates per prompt <c>m</c>.</summary>
    public int CandidatesPerPrompt { get; }

    /// <summary>Number of prompts <c>P</c>.</summary>
    public int PromptCount { get; }

    /// <summary>The cached candidate rewards [P, m] (float64, CPU).</summary>
    public Tensor CandidateRewards => _rewards;

    /// <inheritdoc />
    public string Name => "Reward";

    /// <summary>The policy-normalised expected reward per prompt, <c>sum_j softmax_j(lp_p,j) r_p,j</c> [P], from log-probs and rewards [P, m].</summary>
    public static Tensor ExpectedReward(Tensor candidateLogProbs, Tensor rewards)
    {
        ArgumentNullException.ThrowIfNull(candidateLogProbs);
        ArgumentNullException.ThrowIfNull(rewards);
        if (candidateLogProbs.dim() != 2 || !candidateLogProbs.shape.SequenceEqual(rewards.shape))
            throw new ArgumentException($"log-probs [{string.Join(", ", candidateLogProbs.shape)}] and rewards [{string.Join(", ", rewards.shape)}] must both have shape [P, m].");
        using var scope = NewDisposeScope();
        var q = candidateLogProbs.softmax(1);
        return (q * rewards.to(q.dtype, q.device)).sum(1).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public Tensor Objective(ICausalLM model)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var scope = NewDisposeScope();
        var sum = ExpectedRewardSum(model, CancellationToken.None);
        GradientGuard.ThrowIfAdaptersOff(model, sum, "RewardObjective.Objective (J)");
        return (-sum / PromptCount).MoveToOuterDisposeScope();
    }

    /// <summary>The mean reward of generated responses to the held-out prompts, or the expected candidate reward <c>-J</c> when no evaluation was given.</summary>
    public double Evaluate(ICausalLM model, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (_evaluation is null)
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            return ExpectedRewardSum(model, cancellationToken).ToDouble() / PromptCount;
        }
        IReadOnlyList<string> responses;
        using (no_grad()) responses = _evaluation.Generate(model, _evaluation.Prompts, cancellationToken);
        if (responses.Count != _evaluation.Prompts.Count)
            throw new InvalidOperationException($"the generator returned {responses.Count} responses for {_evaluation.Prompts.Count} prompts.");
        double total = 0;
        for (int i = 0; i < responses.Count; i++) total += _evaluation.Reward(_evaluation.Prompts[i], responses[i]);
        return total / responses.Count;
    }

    private Tensor ExpectedRewardSum(ICausalLM model, CancellationToken cancellationToken)
    {
        Tensor total = zeros(Array.Empty<long>(), dtype: model.DType, device: model.Device);
        int m = CandidatesPerPrompt;
        foreach (var rows in RowChunks())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var chunk = rows.Length == _candidates.Count ? _candidates : _candidates.Select(rows);
            var lp = ResponseLogProbs.Compute(model, chunk).Sum.reshape(-1, m);
            var rewards = _rewards.narrow(0, rows[0] / m, rows.Length / m);
            total = total + ExpectedReward(lp, rewards).sum();
        }
        return total;
    }

    /// <summary>Row index lists of whole prompts, about <see cref="RewardObjectiveOptions.ChunkSize"/> rows each.</summary>
    private IEnumerable<long[]> RowChunks()
    {
        int promptsPerChunk = Math.Max(1, Options.ChunkSize / CandidatesPerPrompt);
        return U2A.Core.Alignment.RowChunks.Of(_candidates.Count, promptsPerChunk * CandidatesPerPrompt);
    }

    /// <inheritdoc />
    public void Dispose() => _rewards.Dispose();
}
