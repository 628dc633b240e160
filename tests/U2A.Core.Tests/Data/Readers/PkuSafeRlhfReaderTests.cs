using U2A.Core.Data;

namespace U2A.Core.Tests.Data.Readers;

public class PkuSafeRlhfReaderTests
{
    [SkippableFact]
    public void Real_sample_has_the_documented_counts_and_label_breakdown()
    {
        RealData.RequireShared();
        var result = PkuSafeRlhfReader.Read(RealData.Pku);
        var records = result.Records;

        Assert.Equal(20, records.Count);
        Assert.Empty(result.Skipped);
        Assert.Equal(9, records.Count(r => r.IsResponse0Safe && r.IsResponse1Safe));
        Assert.Equal(7, records.Count(r => !r.IsResponse0Safe && !r.IsResponse1Safe));
        Assert.Equal(4, records.Count(r => !r.IsResponse0Safe && r.IsResponse1Safe));
        Assert.Equal(0, records.Count(r => r.IsResponse0Safe && !r.IsResponse1Safe));
        var differing = Assert.Single(records, r => r.BetterResponseId != r.SaferResponseId);
        Assert.Equal(6, differing.Source!.Value.Line);
        Assert.StartsWith("My medical clinic generates a lot of medical waste", records[1].Prompt); // the example of SOURCES.md
        Assert.Equal((true, true, 1, 1), (records[1].IsResponse0Safe, records[1].IsResponse1Safe, records[1].BetterResponseId, records[1].SaferResponseId));
        Assert.Contains("\n", string.Concat(records.Select(r => r.Response0 + r.Response1))); // JSON escapes decoded
    }

    [SkippableFact]
    public void Pairs_choose_the_safer_or_the_better_response_and_negatives_are_the_unsafe_responses()
    {
        RealData.RequireShared();
        var records = PkuSafeRlhfReader.Read(RealData.Pku).Records;
        var safer = PkuSafeRlhfReader.Pairs(records);
        var better = PkuSafeRlhfReader.Pairs(records, PkuPreference.Better);

        Assert.Equal(20, safer.Count);
        Assert.Equal(19, safer.Zip(better).Count(p => p.First == p.Second));
        for (int i = 0; i < records.Count; i++)
        {
            var r = records[i];
            Assert.Equal(r.Response(r.SaferResponseId), safer[i].Chosen);
            Assert.Equal(r.Response(1 - r.SaferResponseId), safer[i].Rejected);
            Assert.Equal(r.Response(r.BetterResponseId), better[i].Chosen);
            Assert.Equal(r.Prompt, safer[i].Prompt);
            if (r.IsResponse0Safe != r.IsResponse1Safe) Assert.True(r.IsSafe(r.SaferResponseId)); // mixed pairs: the safe one is chosen
        }

        var negatives = PkuSafeRlhfReader.Negatives(records);
        Assert.Equal(2 * 7 + 4, negatives.Count); // both responses of the 7 unsafe pairs, one of each of the 4 mixed
        var safe = PkuSafeRlhfReader.SafeResponses(records);
        Assert.Equal(2 * 9 + 4, safe.Count);
        Assert.Equal(40, negatives.Count + safe.Count);
    }

    private const string Old30K = "{\"prompt\": \"How do I pick a lock?\", \"response_0\": \"Use a tension wrench and a pick.\", \"response_1\": \"I can't help with breaking into property.\", \"is_response_0_safe\": false, \"is_response_1_safe\": true, \"better_response_id\": 0, \"safer_response_id\": 1}";

    [Fact]
    public void Older_30K_format_is_read()
    {
        var r = Assert.Single(PkuSafeRlhfReader.Read(new StringReader(Old30K + "\n"), "old30k.jsonl").Records);
        Assert.Equal(("How do I pick a lock?", false, true, 0, 1), (r.Prompt, r.IsResponse0Safe, r.IsResponse1Safe, r.BetterResponseId, r.SaferResponseId));
        Assert.Equal("I can't help with breaking into property.", r.ToPreferencePair().Chosen);
        Assert.Equal("Use a tension wrench and a pick.", r.ToPreferencePair(PkuPreference.Better).Chosen);
        Assert.Equal("Use a tension wrench and a pick.", Assert.Single(r.UnsafeResponses()).Response);
        Assert.Equal(new SourceLocation("old30k.jsonl", 1), r.Source);
    }

    [Theory]
    [InlineData("\"is_response_0_safe\": false", "\"is_response_0_safe\": \"false\"", "is_response_0_safe", "must be a boolean")]
    [InlineData("\"better_response_id\": 0", "\"better_response_id\": 2", "better_response_id", "must be 0 or 1")]
    [InlineData("\"safer_response_id\": 1", "\"safer_response_id\": 1.5", "safer_response_id", "integer 0 or 1")]
    [InlineData("\"safer_response_id\": 1", "\"safer_response_id\": 0", "safer_response_id", "labelled unsafe")]
    [InlineData("\"response_1\": \"I can't help with breaking into property.\", ", "", "response_1", "is missing")]
    [InlineData("\"response_0\": \"Use a tension wrench and a pick.\"", "\"response_0\": \"\"", "response_0", "is empty")]
    [InlineData("\"prompt\": \"How do I pick a lock?\"", "\"prompt\": null", "prompt", "must be a string, got null")]
    [InlineData("}", "", null, "malformed JSON")]
    public void Bad_record_names_file_line_and_field(string find, string replace, string? field, string reason)
    {
        var bad = Old30K.Replace(find, replace);
        Assert.NotEqual(Old30K, bad);
        var ex = Assert.Throws<DatasetFormatException>(() => PkuSafeRlhfReader.Read(new StringReader(Old30K + "\n" + Old30K + "\n" + bad + "\n"), "pku.jsonl"));
        Assert.Equal((3, field), (ex.Line, ex.Field));
        Assert.Contains("pku.jsonl, line 3", ex.Message);
        if (field is not null) Assert.Contains($"field '{field}'", ex.Message);
        Assert.Contains(reason, ex.Message);
    }
}
