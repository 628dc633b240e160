// BEGIN lora usings
using TorchSharp;
using U2A.Core.Models;
using U2A.Core.Models.Lora;
using U2A.Testing;            // TinyTransformerLM (test kit); any ICausalLM that is an nn.Module works
// END lora usings
using static TorchSharp.torch;

namespace U2A.Core.Tests.Docs;

/// <summary>Runs the example of docs/lora.md (<see cref="DocBlocksTests"/> checks that the page holds it verbatim).</summary>
public class LoraExampleTests
{
    [Fact]
    public void Lora_example_runs_and_its_claims_hold()
    {
        var folder = Directory.CreateTempSubdirectory("u2a-lora-doc-").FullName;
        try
        {
            string adapterFile = Path.Combine(folder, "adapter.safetensors");
            using var freshModel = new TinyTransformerLM(vocabularySize: 50257, width: 64, layers: 2);
            using var ids = tensor(new long[] { 1, 2, 3, 4 }).reshape(1, 4);
            using var mask = ones_like(ids);

            // BEGIN lora example
            using var model = new TinyTransformerLM(vocabularySize: 50257, width: 64, layers: 2);   // move to the device first
            using var lora = new LoraModel(model, new LoraOptions
            {
                TargetModules = new[] { "c_attn" },   // last segment of the module path: blocks.0.c_attn, blocks.1.c_attn, ...
                Rank = 8, Alpha = 16, Dropout = 0, Seed = 0,
            });

            // Train the adapters only: TrainableParameters is [A, B] per adapted layer, in module-path order.
            using var optimizer = torch.optim.AdamW(lora.TrainableParameters, lr: 1e-3);
            IReferencePolicy reference = lora.AsReferencePolicy();   // pi_ref = adapters off, under no_grad
            // ... losses use ResponseLogProbs.Compute(lora, batch) and reference.LogProbs(batch) ...

            lora.SaveAdapters(adapterFile);

            using (lora.DisableAdapters()) { /* lora.Forward(...) is the base model here */ }

            lora.Merge();     // W += (alpha/r) B A for fast inference; Forward then runs the plain layers
            lora.Unmerge();   // restores W bit for bit (from a copy kept by Merge)

            // Later, on a fresh copy of the same base model:
            using var restored = LoraModel.FromAdapterFile(freshModel, adapterFile);
            // END lora example

            Assert.Equal(2 * 2, lora.TrainableParameters.Count); // A and B for each of the two c_attn layers
            Assert.True(File.Exists(adapterFile));
            using (no_grad())
            {
                // A fresh adapter (B = 0) leaves the outputs unchanged, bit for bit, and the restored adapters are the saved ones.
                Assert.True(lora.Forward(ids, mask).eq(model.Forward(ids, mask)).all().ToBoolean());
                for (int i = 0; i < lora.TrainableParameters.Count; i++)
                    Assert.True(lora.TrainableParameters[i].eq(restored.TrainableParameters[i]).all().ToBoolean());
            }
        }
        finally { Directory.Delete(folder, true); }
    }
}
