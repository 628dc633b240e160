using U2A.Core.Alignment;
using U2A.Core.Unlearning;
using U2A.Core.Data;
using U2A.Core.Tokenization;

namespace U2A.Core.Tests.Data;

/// <summary>Runs the example of docs/data.md on the real samples and checks the document holds it verbatim.</summary>
public class DocsExampleTests
{
    [SkippableFact]
    public void Data_md_example_runs_and_is_kept_verbatim()
    {
        RealData.RequireShared();
        string dataDir = RealData.Dir;
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

        var root = typeof(DocsExampleTests).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>().First(a => a.Key == "RepoRoot").Value!;
        var source = File.ReadAllLines(Path.Combine(root, "tests", "U2A.Core.Tests", "Data", "DocsExampleTests.cs"));
        int begin = Array.FindIndex(source, l => l.Trim() == "// BEGIN data.md example");
        int end = Array.FindIndex(source, l => l.Trim() == "// END data.md example");
        var block = source[(begin + 1)..end].Select(l => l.Length >= 8 ? l[8..] : l.TrimStart());
        var doc = File.ReadAllText(Path.Combine(root, "docs", "data.md")).ReplaceLineEndings("\n");
        Assert.Contains(string.Join("\n", block), doc);
    }
}
