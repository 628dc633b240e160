using U2A.Core.Alignment;
using U2A.Core.Data;
using U2A.Core.Models;
using U2A.Core.Tests.Unlearning;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.Fixtures;

namespace U2A.Core.Tests.Alignment;

public class RewardObjectiveTests
{
    [Fact]
    public void Expected_reward_on_hand_numbers()
    {
        using var scope = NewDisposeScope();
        // Prompt 1: lp = [-1, -2] -> softmax = [1/(1+e^-1), e^-1/(1+e^-1)] = [0.731058579, 0.268941421]; rewards [1, 0] -> 0.731058579.
        // Prompt 2: lp = [-3, -3] -> [0.5, 0.5]; rewards [2, 4] -> 3. J = -(0.731058579 + 3)/2 = -1.865529289.
        var expected = RewardObjective.ExpectedReward(tensor(new[,] { { -1.0, -2.0 }, { -3.0, -3.0 } }), tensor(new[,] { { 1.0, 0.0 }, { 2.0, 4.0 } }));
        var v = Values(expected);
        Assert.Equal(0.731058579, v[0], 9);
        Assert.Equal(3.0, v[1], 12);
        Assert.Equal(-1.865529289, -v.Average(), 9);
    }

    [Fact]
    public void Expected_reward_gradient_wrt_log_probs_matches_central_differences()
    {
        using var scope = NewDisposeScope();
        var rewards = tensor(new[,] { { 1.0, 0.0, -2.0 }, { 2.0, 4.0, 0.5 } });
        FiniteDifferences.AssertGradientMatches(t => RewardObjective.ExpectedReward(t.reshape(2, 3), rewards), new[] { -1.0, -2.0, -0.5, -3.0, -3.0, -7.0 });
    }

    // Reward: the number of 3s in the response minus a tenth of its length.
    private static TokenRewardFunction CountThrees() => new((prompt, response) => response.Count(t => t == 3) - 0.1 * response.Count);

    [Fact]
    public void Objective_equals_the_formula_on_the_tiny_model_chunked_or_not()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModel(seed: 50);
        using var candidates = RandomBatch(12, seed: 51, maxResponse: 6); // 4 prompts x 3 candidates
        using var objective = new RewardObjective(candidates, 3, CountThrees());

        var ids = candidates.InputIds.data<long>().ToArray();
        var resp = candidates.ResponseMask.data<long>().ToArray();
        int t = candidates.Length;
        var r = Enumerable.Range(0, 12).Select(b =>
        {
            var reply = Enumerable.Range(0, t).Where(i => resp[b * t + i] == 1).Select(i => ids[b * t + i]).ToArray();
            return reply.Count(x => x == 3) - 0.1 * reply.Length;
        }).ToArray();
        Assert.Equal(r, Values(objective.CandidateRewards.reshape(-1)));

        var lp = LogProbsByHand(model, candidates).Sum;
        double total = 0;
        for (int p = 0; p < 4; p++)
        {
            double max = lp.Skip(3 * p).Take(3).Max();
            double z = Enumerable.Range(0, 3).Sum(j => Math.Exp(lp[3 * p + j] - max));
            total += Enumerable.Range(0, 3).Sum(j => Math.Exp(lp[3 * p + j] - max) / z * r[3 * p + j]);
        }
        Assert.Equal(-total / 4, objective.Objective(model).item<double>(), 10);
        Assert.Equal(total / 4, objective.Evaluate(model), 10); // no generator: the expected candidate reward

        using var chunked = new RewardObjective(candidates, 3, CountThrees(), options: new RewardObjectiveOptions(ChunkSize: 5)); // 1 prompt per chunk
        AlignmentAssert.SameValueAndGradient(model, objective.Objective, chunked.Objective);
    }

    [Fact]
    public void Score_is_the_mean_reward_of_generated_responses()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModel(seed: 52);
        using var candidates = RandomBatch(4, seed: 53);
        ICausalLM? seen = null;
        var evaluation = new GeneratedRewardEvaluation(
            new[] { "a", "bb" },
            (m, prompts, ct) => { seen = m; return prompts.Select(p => p + "!").ToArray(); },
            (prompt, response) => response.Length);
        using var objective = new RewardObjective(candidates, 2, CountThrees(), evaluation);
        // Responses "a!" and "bb!": rewards 2 and 3, mean 2.5.
        Assert.Equal(2.5, objective.Evaluate(model));
        Assert.Same(model, seen);
    }

    [Fact]
    public void Token_reward_function_sees_the_prompt_and_the_response_tokens()
    {
        using var scope = NewDisposeScope();
        using var batch = new TokenBatch(tensor(new long[] { 5, 6, 7, 8, 0 }).reshape(1, 5), tensor(new long[] { 1, 1, 1, 1, 0 }).reshape(1, 5), tensor(new long[] { 0, 0, 1, 1, 0 }).reshape(1, 5));
        long[]? prompt = null, response = null;
        var rewards = new TokenRewardFunction((p, r) => { prompt = p.ToArray(); response = r.ToArray(); return 1.5; }).Rewards(batch);
        Assert.Equal(new long[] { 5, 6 }, prompt);
        Assert.Equal(new long[] { 7, 8 }, response);
        Assert.Equal(new[] { 1.5 }, Values(rewards));
    }

    [Fact]
    public void Bad_layouts_and_options_are_rejected_with_the_field_named()
    {
        using var scope = NewDisposeScope();
        using var candidates = RandomBatch(5, seed: 54);
        Assert.Contains("candidatesPerPrompt", Assert.Throws<ArgumentException>(() => new RewardObjective(candidates, 3, CountThrees())).Message);
        Assert.Contains("RewardObjectiveOptions.ChunkSize",
            Assert.ThrowsAny<ArgumentException>(() => new RewardObjective(candidates, 5, CountThrees(), options: new RewardObjectiveOptions(ChunkSize: 0))).Message);
        Assert.Contains("GeneratedRewardEvaluation.Prompts",
            Assert.ThrowsAny<ArgumentException>(() => new RewardObjective(candidates, 5, CountThrees(), new GeneratedRewardEvaluation(Array.Empty<string>(), (m, p, ct) => p, (p, r) => 0))).Message);
        Assert.Contains("expected [5]", Assert.Throws<ArgumentException>(() => new RewardObjective(candidates, 5, new WrongShape())).Message);
    }

    private sealed class WrongShape : IRewardModel
    {
        public Tensor Rewards(TokenBatch batch) => zeros(batch.Count + 1);
    }
}
