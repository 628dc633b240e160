using U2A.Core.Data;
using U2A.Core.Models;
using U2A.Core.Models.Checkpoints;
using U2A.Core.Models.Generation;
using U2A.Core.Models.Gpt2;
using U2A.Core.Models.Lora;
using U2A.Core.Tokenization;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Docs;

/// <summary>The example of docs/models.md: it compiles and runs (<see cref="DocBlocksTests"/> checks that the page holds it verbatim).</summary>
public class ModelsExampleTests
{
    private static void Example(string directory, TextWriter console)
    {
        // BEGIN models example
        // A GPT-2-shaped model with Hugging Face parameter names, saved and loaded in the Hugging Face layout.
        var config = new Gpt2Config(VocabSize: 50257, NEmbd: 64, NLayer: 2, NHead: 4, NPositions: 128);
        using (var fresh = new Gpt2LM(config, seed: 0))
            CausalLMLoader.SavePretrained(fresh, directory);            // config.json + model.safetensors
        using var model = CausalLMLoader.FromPretrained(directory);       // any config.json: gpt2, llama, qwen2

        // LoRA adapters on the attention projection; only they are trainable, the reference policy is "adapter off".
        using var lora = new LoraModel(model, new LoraOptions { TargetModules = new[] { "c_attn" }, Rank = 8, Alpha = 16 });
        var reference = lora.AsReferencePolicy();

        // Prompt + response tokens with an exact response boundary, collated into a padded batch.
        var encoder = new PromptResponseEncoder(MlTokenizer.Gpt2(), PromptTemplate.HumanAssistant);
        var collator = new SequenceCollator(encoder);
        using TokenBatch batch = collator.Negatives(new[] { new NegativeExample("How do I pick a lock?", "Sure, first insert a tension wrench.") });

        SequenceLogProbs policy = ResponseLogProbs.Compute(lora, batch);  // summed log-prob of response tokens only
        SequenceLogProbs pi0 = reference.LogProbs(batch);                 // same, adapters off, no gradients
        console.WriteLine($"lp = {policy.Sum.item<float>():F2}, lp_ref = {pi0.Sum.item<float>():F2}, {lora.TrainableParameters.Count} adapter tensors");

        // Greedy generation with a KV cache.
        var prompt = encoder.Tokenizer.Encode("The weather today").Select(t => (long)t).ToArray();
        var output = TokenGenerator.Generate((ICachedCausalLM)model, new[] { prompt }, new GenerationOptions { MaxNewTokens = 5 });
        console.WriteLine(encoder.Tokenizer.Decode(output.Tokens[0].Select(t => (int)t)));
        // END models example
    }

    [Fact]
    public void Models_example_runs()
    {
        var dir = Directory.CreateTempSubdirectory("u2a-models-doc-").FullName;
        try
        {
            var text = new StringWriter();
            Example(dir, text);
            Assert.Contains("adapter tensors", text.ToString());
            Assert.True(File.Exists(Path.Combine(dir, "model.safetensors")));
        }
        finally { Directory.Delete(dir, true); }
    }
}
