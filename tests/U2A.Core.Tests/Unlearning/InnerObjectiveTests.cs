using TorchSharp;
using U2A.Core.Data;
using U2A.Core.Models;
using U2A.Core.Unlearning;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.Fixtures;

namespace U2A.Core.Tests.Unlearning;

/// <summary>Every strategy's per-example vector is what the weighted inner objective sums, and no row depends on its neighbours.</summary>
public class InnerObjectiveTests
{
    public static TheoryData<string> Strategies => new() { "GradAscent", "GradDiff", "NpoSummed", "NpoTokenMean", "SimNpo" };

    private static InnerObjective Make(string name, TokenBatch retain) => name switch
    {
        "GradAscent" => new InnerObjective(new GradAscent()),
        "GradDiff" => GradDiff.WithRetainNll(retain),
        "NpoSummed" => new InnerObjective(new Npo()),
        "NpoTokenMean" => new InnerObjective(new Npo(new NpoOptions(Form: NpoForm.TokenMeanNll))),
        "SimNpo" => new InnerObjective(new SimNpo()),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Strategies))]
    public void Weighted_sum_of_the_per_example_losses_equals_the_inner_objective_without_terms(string name)
    {
        using var scope = NewDisposeScope();
        using var model = TinyModel(seed: 13);
        using var reference = new ParameterSnapshotReference(model);
        using var forget = ForgetBatch.WithReference(RandomBatch(7, seed: 14), reference, chunkSize: 3);
        using var retain = RandomBatch(3, seed: 15);
        Perturb(model, 0.05, seed: 16);
        var objective = Make(name, retain);
        var weights = rand(7, dtype: ScalarType.Float64, generator: new Generator(17));

        var losses = Values(objective.PerExampleLosses(model, forget));
        var w = Values(weights);
        double expected = 0;
        for (int i = 0; i < w.Length; i++) expected += w[i] * losses[i];
        double actual = objective.Value(model, forget, weights, includeTerms: false).item<double>();
        Assert.True(Math.Abs(expected - actual) <= 1e-13 * Math.Max(1, Math.Abs(expected)), $"{expected:R} vs {actual:R}");
    }

    [Theory]
    [MemberData(nameof(Strategies))]
    public void A_row_has_the_same_loss_alone_as_in_its_padded_batch(string name)
    {
        using var scope = NewDisposeScope();
        using var model = TinyModel(seed: 18);
        using var reference = new ParameterSnapshotReference(model);
        using var forget = ForgetBatch.WithReference(RandomBatch(5, seed: 19, maxResponse: 6), reference);
        using var retain = RandomBatch(2, seed: 20);
        Perturb(model, 0.05, seed: 21);
        var objective = Make(name, retain);
        var batchLosses = Values(objective.PerExampleLosses(model, forget));
        for (long i = 0; i < forget.Count; i++)
        {
            using var one = forget.Select(new[] { i });
            Assert.Equal(batchLosses[i], Values(objective.PerExampleLosses(model, one))[0], 10);
        }
    }
}
