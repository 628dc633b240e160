// BEGIN data.md usings
using U2A.Core.Alignment;      // PreferenceBatch
using U2A.Core.Data;           // readers, records, SequenceCollator, BatchPlanner
using U2A.Core.Tokenization;   // MlTokenizer, PromptResponseEncoder, PromptTemplate
using U2A.Core.Unlearning;     // ForgetBatch
// END data.md usings

namespace U2A.Core.Tests.Docs;

/// <summary>Runs the example of docs/data.md on the real samples (<see cref="DocBlocksTests"/> checks that the page holds it verbatim).</summary>
public class DataExampleTests
{
    [SkippableFact]
    public void Data_md_example_runs_on_the_real_samples()
    {
        string dataDir = DocsKit.RequireSharedData();
        // BEGIN data.md example
        // 1. Read: negatives = the unsafe PKU-SafeRLHF responses; pairs from HH-RLHF, bad records skipped and counted.
        var pku = PkuSafeRlhfReader.Read(Path.Combine(dataDir, "pku_saferlhf_alpaca7b_test.first20.jsonl"));
        var negatives = PkuSafeRlhfReader.Negatives(pku.Records);
        var hh = HhRlhfReader.Read(Path.Combine(dataDir, "hh_rlhf_harmless_base_test.first1000.jsonl"),
            new DatasetReadOptions { BadRecords = BadRecordPolicy.Skip });

        // 2. Tokenise with GPT-2: PKU prompts get the Human/Assistant template; HH prompts already hold the dialogue.
        var gpt2 = MlTokenizer.Gpt2();
        var forgetCollator = new SequenceCollator(new PromptResponseEncoder(gpt2, PromptTemplate.HumanAssistant),
            new CollateOptions { MaxLength = 512 });
        var pairCollator = new SequenceCollator(new PromptResponseEncoder(gpt2, PromptTemplate.Plain),
            new CollateOptions { MaxLength = 512, Truncation = TruncationPolicy.TruncatePromptLeft });

        // 3. Batch in a seeded order (the same on every run and OS).
        var plan = BatchPlanner.Plan(negatives.Count, batchSize: 8, seed: 1234);
        using var forget = ForgetBatch.FromExamples(forgetCollator, plan[0].Select(i => negatives[i]).ToArray());
        using var pairs = PreferenceBatch.FromPairs(pairCollator, hh.Records.Take(4).ToArray());
        Console.WriteLine($"{negatives.Count} negatives, {hh.Count} pairs ({hh.SkippedCount} skipped); " +
            $"forget batch [{forget.Count}, {forget.Tokens.Length}], chosen [{pairs.Chosen.Count}, {pairs.Chosen.Length}]");
        // END data.md example

        Assert.Equal(18, negatives.Count);
        Assert.Equal((997, 3), (hh.Count, hh.SkippedCount));
        Assert.Equal(new[] { 8, 8, 2 }, plan.Select(b => b.Length));
        Assert.Equal(8, forget.Count);
        Assert.InRange(forget.Tokens.Length, 2, 512);
        Assert.Equal(4, pairs.Count);
    }
}
