using U2A.Core.Alignment;
using U2A.Core.Data;
using U2A.Core.Models;
using U2A.Core.Models.Gpt2;
using U2A.Core.Models.Llama;
using U2A.Core.Tests.Models;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Alignment;

public sealed class CausalLMRewardModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("u2a-reward-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly long[][] Rows = { new long[] { 3, 7, 9, 11, 2 }, new long[] { 5, 8, 2 }, new long[] { 1, 4, 6, 10 } };

    private static TokenBatch Padded(bool left)
    {
        int t = Rows.Max(r => r.Length);
        var ids = new long[Rows.Length, t];
        var mask = new long[Rows.Length, t];
        var resp = new long[Rows.Length, t];
        for (int i = 0; i < Rows.Length; i++)
            for (int j = 0; j < Rows[i].Length; j++)
            {
                int col = left ? t - Rows[i].Length + j : j;
                ids[i, col] = Rows[i][j]; mask[i, col] = 1; resp[i, col] = j >= 1 ? 1 : 0;
            }
        return new TokenBatch(tensor(ids), tensor(mask), tensor(resp));
    }

    public static TheoryData<string> Architectures => new() { "gpt2", "llama" };

    private static IHiddenStateModel Backbone(string arch) => arch == "gpt2"
        ? new Gpt2LM(ModelTestKit.TinyGpt2, dtype: ScalarType.Float64, seed: 4)
        : new LlamaLM(ModelTestKit.TinyLlama, dtype: ScalarType.Float64, seed: 4);

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Reward_is_the_head_on_the_last_real_tokens_hidden_state_whatever_the_padding(string arch)
    {
        using var scope = NewDisposeScope();
        var score = randn(1, 16, dtype: ScalarType.Float64, generator: new TorchSharp.torch.Generator(9));
        using var reward = new CausalLMRewardModel(Backbone(arch), score);
        using var right = Padded(left: false);
        using var left = Padded(left: true);
        var r = reward.Rewards(right).data<double>().ToArray();
        Assert.Equal(r, reward.Rewards(left).data<double>().ToArray(), new ToleranceComparer(1e-10));
        for (int i = 0; i < Rows.Length; i++)
        {
            // Independent computation: the row alone, unpadded, last position's hidden state dotted with the head.
            var ids = tensor(Rows[i]).unsqueeze(0);
            var hidden = reward.Backbone.HiddenStates(ids, ones_like(ids));
            double expected = hidden[0, -1].dot(score.reshape(16)).item<double>();
            Assert.Equal(expected, r[i], 10);
        }
    }

    [Fact]
    public void Saved_reward_model_loads_with_identical_rewards_and_bad_folders_are_named()
    {
        using var scope = NewDisposeScope();
        using var batch = Padded(left: false);
        using var reward = new CausalLMRewardModel(Backbone("gpt2"), randn(16, dtype: ScalarType.Float64));
        reward.SavePretrained(_dir);
        using var loaded = CausalLMRewardModel.FromPretrained(_dir, dtype: ScalarType.Float64);
        Assert.Equal(reward.Rewards(batch).data<double>().ToArray(), loaded.Rewards(batch).data<double>().ToArray());

        File.Delete(Path.Combine(_dir, CausalLMRewardModel.HeadFile));
        var e = Assert.Throws<InvalidDataException>(() => CausalLMRewardModel.FromPretrained(_dir));
        Assert.Contains(CausalLMRewardModel.HeadFile, e.Message);
        Assert.Contains("[1, 16]", Assert.Throws<ArgumentException>(() => new CausalLMRewardModel(Backbone("gpt2"), zeros(1, 15))).Message);
    }

    [Fact]
    public void Reward_model_plugs_into_the_reward_objective()
    {
        using var scope = NewDisposeScope();
        using var reward = new CausalLMRewardModel(Backbone("gpt2"), randn(16, dtype: ScalarType.Float64, generator: new TorchSharp.torch.Generator(10)));
        using var candidates = Padded(left: false);
        using var selected = Select(candidates, 0, 1, 2, 0); // prompt 0: rows 0, 1; prompt 1: rows 2, 0
        using var objective = new RewardObjective(selected, candidatesPerPrompt: 2, reward);
        // The cached candidate rewards are the reward model's, row for row (computed here on the untrimmed batch).
        var r = reward.Rewards(candidates).data<double>().ToArray();
        Assert.True(r.Distinct().Count() == 3, "rewards are degenerate");
        var expected = new[] { r[0], r[1], r[2], r[0] };
        Assert.Equal(expected, objective.CandidateRewards.reshape(-1).data<double>().ToArray(), new ToleranceComparer(1e-12));

        // J = -mean over prompts of sum_j softmax(lp)_j r_j, with log-probs summed token by token here.
        using var policy = new Gpt2LM(ModelTestKit.TinyGpt2, dtype: ScalarType.Float64, seed: 5);
        var lp = U2A.Core.Tests.Shared.Fixtures.LogProbsByHand(policy, selected).Sum;
        double j = 0;
        for (int p = 0; p < 2; p++)
        {
            double a = lp[2 * p], b = lp[2 * p + 1], m = Math.Max(a, b);
            double wa = Math.Exp(a - m), wb = Math.Exp(b - m);
            j -= (wa * expected[2 * p] + wb * expected[2 * p + 1]) / (wa + wb) / 2;
        }
        Assert.Equal(j, objective.Objective(policy).item<double>(), 10);
    }

    private static TokenBatch Select(TokenBatch b, params long[] rows) => b.Select(rows);

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(double obj) => 0;
    }
}
