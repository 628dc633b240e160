using U2A.Core.Data;
using U2A.Core.Unlearning;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.Fixtures;

namespace U2A.Core.Tests.Unlearning;

public class RetainKlTests
{
    // One row "0 1 0": the prompt is token 0, the response tokens 1 and 0 (positions 1 and 2).
    private static TokenBatch OneRow() => new(tensor(new long[] { 0, 1, 0 }).reshape(1, 3), ones(1, 3, dtype: TorchSharp.torch.ScalarType.Int64), tensor(new long[] { 0, 1, 1 }).reshape(1, 3));

    // Position 0 predicts token 1 with logits [0, ln 3] (p = [1/4, 3/4]); position 1 predicts token 0 with logits [0, 0] (p = [1/2, 1/2]).
    private static double[,,] PolicyLogits() => new double[,,] { { { 0, Math.Log(3) }, { 0, 0 }, { 0, 0 } } };

    [Fact]
    public void RetainKl_on_hand_numbers()
    {
        using var scope = NewDisposeScope();
        using var reference = new LogitsTableLM(new double[1, 3, 2]); // uniform [1/2, 1/2] everywhere
        using var policy = new LogitsTableLM(PolicyLogits());
        using var retain = OneRow();
        using var term = new RetainKl(reference, retain);
        // Token 1: KL([1/4, 3/4] || [1/2, 1/2]) = 0.25 ln(0.5) + 0.75 ln(1.5) = -0.173286795 + 0.304098831 = 0.130812036.
        // Token 2: KL([1/2, 1/2] || [1/2, 1/2]) = 0. Token mean: 0.065406018; alpha 0.3: 0.019621805.
        Assert.Equal(0.019621805, term.Value(policy).item<double>(), 9);
        Assert.Equal(0.0, term.Value(reference).item<double>(), 15);
    }

    [Fact]
    public void RetainKl_gradient_wrt_logits_matches_central_differences()
    {
        using var scope = NewDisposeScope();
        using var reference = new LogitsTableLM(new double[,,] { { { 0.3, -0.2 }, { 1.0, 0.1 }, { 0, 0 } } });
        using var retain = OneRow();
        using var term = new RetainKl(reference, retain, alpha: 0.7);
        FiniteDifferences.AssertGradientMatches(
            t => term.Value(new LogitsTableLM(t.reshape(1, 3, 2))).reshape(1),
            new[] { 0.0, Math.Log(3), -0.4, 0.9, 2.0, -1.0 });
    }

    [Fact]
    public void RetainKl_is_zero_at_the_reference_on_the_tiny_model_and_positive_after_a_change()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModel(seed: 5);
        using var retain = RandomBatch(4, seed: 6);
        using var term = new RetainKl(model, retain);
        Assert.Equal(0.0, term.Value(model).item<double>(), 12);
        Perturb(model, 0.05, seed: 7);
        Assert.True(term.Value(model).item<double>() > 1e-6);
    }
}
