// BEGIN testing-doc example
using U2A.Core.Models;
using U2A.Core.Unlearning;
using U2A.Testing;
using Xunit;
using static TorchSharp.torch;

namespace MyResearch.Tests;

/// <summary>A new unlearning loss: gradient ascent on the token-mean log-prob, bounded below by a softplus.</summary>
public sealed class SoftplusAscent : IUnlearner
{
    public string Name => "SoftplusAscent";
    public bool NeedsReference => false;
    public Tensor PerExampleLoss(SequenceLogProbs policy, SequenceLogProbs? reference) => nn.functional.softplus(policy.Mean);
}

public class SoftplusAscentTests
{
    [Fact]
    public void Keeps_the_unlearner_contract() => UnlearnerContract.Check(new SoftplusAscent());

    [Fact]
    public void Autograd_matches_finite_differences()
    {
        using var model = TinyModels.Gpt2(seed: 0, dtype: ScalarType.Float64);
        using var batch = new ForgetBatch(TinyBatches.Random(count: 4, model.VocabularySize, seed: 1));
        using var inner = new InnerObjective(new SoftplusAscent());
        using var weights = tensor(new[] { 0.1, 0.2, 0.3, 0.4 }, dtype: ScalarType.Float64);
        GradientCheck.Run(model, () => inner.Value(model, batch, weights)).ThrowIfFailed();
    }
}
// END testing-doc example
