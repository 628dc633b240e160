using System.Text.Json;
using U2A.Core.Data;

namespace U2A.Core.Tests.Data.Readers;

public class HhRlhfReaderTests
{
    [Fact]
    public void Real_sample_fails_on_the_first_empty_chosen_response_at_line_87()
    {
        var ex = Assert.Throws<DatasetFormatException>(() => HhRlhfReader.Read(RealData.HhRlhf));
        Assert.Equal(87, ex.Line);
        Assert.Equal("chosen", ex.Field);
        Assert.Contains("hh_rlhf_harmless_base_test.first1000.jsonl", ex.Message);
        Assert.Contains("line 87", ex.Message);
        Assert.Contains("'chosen'", ex.Message);
    }

    [Fact]
    public void Real_sample_under_skip_policy_reads_997_pairs_and_counts_3_skips()
    {
        var logger = new ListLogger();
        var result = HhRlhfReader.Read(RealData.HhRlhf, new DatasetReadOptions { BadRecords = BadRecordPolicy.Skip, Logger = logger });

        Assert.Equal(997, result.Count);
        Assert.Equal(new[] { 87, 517, 926 }, result.Skipped.Select(s => s.Line));
        Assert.All(result.Skipped, s => Assert.Equal("chosen", s.Field));
        Assert.Equal(1000, result.Count + result.SkippedCount); // every line of the file is accounted for
        Assert.Equal(4, logger.Entries.Count); // one warning per skip + a summary
        Assert.Contains("skipped 3", logger.Entries[^1].Message);

        // The split is lossless: prompt + response is the original dialogue, for every record read.
        var lines = File.ReadAllLines(RealData.HhRlhf);
        foreach (var p in result.Records)
        {
            Assert.EndsWith(HhRlhfReader.AssistantMarker, p.Prompt);
            Assert.StartsWith("\n\nHuman:", p.Prompt);
            var doc = JsonDocument.Parse(lines[p.Source!.Value.Line - 1]).RootElement;
            Assert.Equal(doc.GetProperty("chosen").GetString(), p.Prompt + p.Chosen);
            Assert.Equal(doc.GetProperty("rejected").GetString(), p.Prompt + p.Rejected);
            Assert.DoesNotContain(HhRlhfReader.AssistantMarker, p.Chosen);
        }
        Assert.Equal(1, result.Records[0].Source!.Value.Line);
        Assert.Equal(1000, result.Records[^1].Source!.Value.Line);
    }

    [Theory]
    [InlineData("{\"chosen\": \"\\n\\nHuman: hi\\n\\nAssistant: yo\"", null, "malformed JSON")]
    [InlineData("{\"rejected\": \"\\n\\nHuman: hi\\n\\nAssistant: no\"}", "chosen", "missing")]
    [InlineData("{\"chosen\": 3, \"rejected\": \"\\n\\nHuman: hi\\n\\nAssistant: no\"}", "chosen", "must be a string")]
    [InlineData("{\"chosen\": \"\\n\\nHuman: hi\\n\\nAssistant: yo\", \"rejected\": \"\\n\\nHuman: hi\"}", "rejected", "no")]
    [InlineData("{\"chosen\": \"\\n\\nHuman: hi\\n\\nAssistant: yo\", \"rejected\": \"\\n\\nHuman: ho\\n\\nAssistant: no\"}", "rejected", "does not share")]
    [InlineData("{\"chosen\": \"\\n\\nHuman: hi\\n\\nAssistant: yo\", \"rejected\": \"\\n\\nHuman: hi\\n\\nAssistant:\"}", "rejected", "empty")]
    [InlineData("[1, 2]", null, "JSON object")]
    [InlineData("", null, "blank line")]
    public void Bad_line_names_file_line_and_field(string badLine, string? field, string reason)
    {
        const string good = "{\"chosen\": \"\\n\\nHuman: hi\\n\\nAssistant: yes\", \"rejected\": \"\\n\\nHuman: hi\\n\\nAssistant: no\"}";
        using var file = new TempFile(good + "\n" + badLine + "\n" + good + "\n");
        var ex = Assert.Throws<DatasetFormatException>(() => HhRlhfReader.Read(file.Path));
        Assert.Equal(2, ex.Line);
        Assert.Equal(field, ex.Field);
        Assert.Contains(file.Path, ex.Message);
        Assert.Contains("line 2", ex.Message);
        if (field is not null) Assert.Contains($"'{field}'", ex.Message);
        Assert.Contains(reason, ex.Message);

        var skipped = HhRlhfReader.Read(file.Path, new DatasetReadOptions { BadRecords = BadRecordPolicy.Skip });
        Assert.Equal(2, skipped.Count);
        Assert.Equal(2, Assert.Single(skipped.Skipped).Line);
        Assert.Equal(new[] { 1, 3 }, skipped.Records.Select(r => r.Source!.Value.Line));
    }

    [Fact]
    public void Field_over_the_length_limit_fails_or_is_skipped()
    {
        // Longest strings of the sample: chosen 3778 characters (line 229), rejected 4327 (line 927).
        var limited = new DatasetReadOptions { MaxFieldLength = 3777, BadRecords = BadRecordPolicy.Skip };
        var r = HhRlhfReader.Read(RealData.HhRlhf, limited);
        Assert.Equal(new[] { 87, 229, 517, 926, 927 }, r.Skipped.Select(s => s.Line));
        var over = r.Skipped.Where(s => s.Reason.Contains("over the limit")).ToArray();
        Assert.Equal(("chosen", 229), (over[0].Field, over[0].Line));
        Assert.Contains("3778 characters, over the limit of 3777", over[0].Message);
        Assert.Equal(("rejected", 927), (over[1].Field, over[1].Line));
        Assert.Equal(995, r.Count);

        var justFits = HhRlhfReader.Read(RealData.HhRlhf, new DatasetReadOptions { MaxFieldLength = 4327, BadRecords = BadRecordPolicy.Skip });
        Assert.Equal(3, justFits.SkippedCount); // only the three empty responses

        // Fail policy with a limit: the message names the file, line and field.
        using var file = new TempFile("{\"chosen\": \"\\n\\nHuman: hi\\n\\nAssistant: a long answer\", \"rejected\": \"\\n\\nHuman: hi\\n\\nAssistant: no\"}\n");
        var ex = Assert.Throws<DatasetFormatException>(() => HhRlhfReader.Read(file.Path, new DatasetReadOptions { MaxFieldLength = 30 }));
        Assert.Equal((1, "chosen"), (ex.Line, ex.Field));
        Assert.Contains("over the limit of 30", ex.Message);
    }
}
