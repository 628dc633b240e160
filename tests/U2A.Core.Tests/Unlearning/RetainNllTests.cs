using U2A.Core.Data;
using U2A.Core.Unlearning;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.Fixtures;

namespace U2A.Core.Tests.Unlearning;

public class RetainNllTests
{
    // One row "0 1 0": the prompt is token 0, the response tokens 1 and 0 (positions 1 and 2).
    private static TokenBatch OneRow() => new(tensor(new long[] { 0, 1, 0 }).reshape(1, 3), ones(1, 3, dtype: TorchSharp.torch.ScalarType.Int64), tensor(new long[] { 0, 1, 1 }).reshape(1, 3));

    // Position 0 predicts token 1 with logits [0, ln 3] (p = [1/4, 3/4]); position 1 predicts token 0 with logits [0, 0] (p = [1/2, 1/2]).
    private static double[,,] PolicyLogits() => new double[,,] { { { 0, Math.Log(3) }, { 0, 0 }, { 0, 0 } } };

    [Fact]
    public void RetainNll_on_hand_numbers()
    {
        using var scope = NewDisposeScope();
        using var model = new LogitsTableLM(PolicyLogits());
        using var retain = OneRow();
        // lp = ln(3/4) + ln(1/2) = -0.287682072 - 0.693147181 = -0.980829253; nll_mean = 0.980829253 / 2 = 0.490414627.
        Assert.Equal(0.490414627, new RetainNll(retain).Value(model).item<double>(), 9);
        // alpha 0.5: 0.5 * 0.490414627 = 0.245207313.
        Assert.Equal(0.245207313, new RetainNll(retain, alpha: 0.5).Value(model).item<double>(), 9);
    }

    [Fact]
    public void RetainNll_gradient_wrt_the_logits_matches_central_differences()
    {
        using var retain = OneRow();
        FiniteDifferences.AssertGradientMatches(t =>
        {
            using var model = new LogitsTableLM(t.reshape(1, 3, 2));
            return new RetainNll(retain, alpha: 0.7).Value(model).reshape(1);
        }, new[] { 0.3, Math.Log(3), -0.2, 0.1, 0.5, -1.0 });
    }

    [Fact]
    public void Bad_alpha_is_rejected_with_the_field_named()
    {
        using var scope = NewDisposeScope();
        using var retain = OneRow();
        Assert.Contains("alpha", Assert.ThrowsAny<ArgumentException>(() => new RetainNll(retain, alpha: -1)).Message);
        using var reference = new LogitsTableLM(new double[1, 3, 2]);
        Assert.Contains("alpha", Assert.ThrowsAny<ArgumentException>(() => new RetainKl(reference, retain, alpha: double.NaN)).Message);
    }
}
