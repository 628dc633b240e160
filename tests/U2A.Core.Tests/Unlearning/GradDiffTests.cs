using U2A.Core.Data;
using U2A.Core.Unlearning;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.Fixtures;

namespace U2A.Core.Tests.Unlearning;

public class GradDiffTests
{
    [Fact]
    public void GradDiff_adds_its_retain_term_to_the_inner_objective_but_not_to_the_per_example_losses()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModel(seed: 8);
        using var forget = new ForgetBatch(RandomBatch(5, seed: 9));
        using var retain = RandomBatch(3, seed: 10);
        using var objective = GradDiff.WithRetainNll(retain, alpha: 0.3);
        var weights = rand(5, dtype: TorchSharp.torch.ScalarType.Float64);

        Assert.Equal(Values(new InnerObjective(new GradAscent()).PerExampleLosses(model, forget)), Values(objective.PerExampleLosses(model, forget)));

        var (sum, count) = LogProbsByHand(model, retain);
        double retainByHand = 0.3 * sum.Zip(count, (s, c) => -s / c).Average();
        double withTerms = objective.Value(model, forget, weights).item<double>();
        double withoutTerms = objective.Value(model, forget, weights, includeTerms: false).item<double>();
        Assert.Equal(retainByHand, withTerms - withoutTerms, 12);
    }
}
