using TorchSharp;
using U2A.Core.Models.Checkpoints;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Models;

/// <summary>
/// Numerical parity with an independent implementation: tests/fixtures/make_model_fixtures.py computes GPT-2, Llama-3.1
/// (GQA, llama3 rope scaling, untied head) and Qwen2 (q/k/v biases, one key/value head, tied head) forward passes from the
/// Hugging Face formulas in plain PyTorch (float64) and stores tiny checkpoints in Hugging Face layout with the expected
/// logits and response log-probabilities. Loading those checkpoints here must reproduce them to 1e-4 relative in float32.
/// </summary>
public class ReferenceParityTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    [InlineData("qwen2")]
    public void Logits_and_response_logprobs_match_the_reference_implementation(string name)
    {
        using var scope = NewDisposeScope();
        string dir = ModelTestKit.FixtureDirectory(name);
        using var model = CausalLMLoader.FromPretrained(dir);
        var expected = SafetensorsFile.Load(Path.Combine(dir, "expected.safetensors"));
        var (ids, mask) = (expected["input_ids"], expected["attention_mask"]);
        var logits = model.Forward(ids, mask);
        Assert.Equal(expected["logits"].shape, logits.shape);

        // Padded query positions carry no meaning (the reference and this code treat them differently); compare real tokens.
        double worst = 0;
        for (int row = 0; row < ids.shape[0]; row++)
            worst = Math.Max(worst, ModelTestKit.RelErr(ModelTestKit.RealLogits(logits, mask, row), ModelTestKit.RealLogits(expected["logits"], mask, row)));
        var lp = ModelTestKit.ResponseLogProbs(logits, ids, expected["response_mask"]);
        double lpErr = ModelTestKit.RelErr(lp, expected["response_logprobs"]);
        output.WriteLine($"{name}: logits max rel err {worst:E2}, response log-probs max rel err {lpErr:E2}");
        Assert.True(worst < 1e-4, $"{name}: logits relative error {worst:E3}");
        Assert.True(lpErr < 1e-4, $"{name}: response log-prob relative error {lpErr:E3}");
    }
}
