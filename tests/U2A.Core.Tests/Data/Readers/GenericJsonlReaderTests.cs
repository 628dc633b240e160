using U2A.Core.Data;

namespace U2A.Core.Tests.Data.Readers;

public class GenericJsonlReaderTests
{
    [Fact]
    public void Pairs_and_examples_are_read_with_their_line_numbers()
    {
        var pairs = GenericJsonlReader.ReadPairs(new StringReader("{\"prompt\": \"Q1\", \"chosen\": \"good\", \"rejected\": \"bad\", \"extra\": 1}\n{\"prompt\": \"Q2\", \"chosen\": \"ok\", \"rejected\": \"meh\"}\n"), "p.jsonl");
        Assert.Equal(new[] { new PreferencePair("Q1", "good", "bad", new("p.jsonl", 1)), new PreferencePair("Q2", "ok", "meh", new("p.jsonl", 2)) }, pairs.Records);

        using var file = new TempFile("{\"prompt\": \"How to X?\", \"response\": \"Do Y.\"}\n");
        var neg = Assert.Single(GenericJsonlReader.ReadNegatives(file.Path).Records);
        Assert.Equal(new NegativeExample("How to X?", "Do Y.", new(file.Path, 1)), neg);
        var keep = Assert.Single(GenericJsonlReader.ReadRetain(file.Path).Records);
        Assert.Equal(new RetainExample("How to X?", "Do Y.", new(file.Path, 1)), keep);
    }

    [Theory]
    [InlineData("{\"prompt\": \"Q\", \"chosen\": \"a\"}", "rejected", "is missing")]
    [InlineData("{\"prompt\": \"Q\", \"chosen\": [\"a\"], \"rejected\": \"b\"}", "chosen", "must be a string, got an array")]
    [InlineData("{\"prompt\": \"\", \"chosen\": \"a\", \"rejected\": \"b\"}", "prompt", "is empty")]
    [InlineData("{\"prompt\": \"Q\", \"chosen\": \"a\", \"rejected\": \"b\"", null, "malformed JSON")]
    public void Bad_pair_names_file_line_and_field(string bad, string? field, string reason)
    {
        var ex = Assert.Throws<DatasetFormatException>(() => GenericJsonlReader.ReadPairs(new StringReader(bad + "\n"), "g.jsonl"));
        Assert.Equal((1, field), (ex.Line, ex.Field));
        Assert.Contains("g.jsonl, line 1", ex.Message);
        if (field is not null) Assert.Contains($"field '{field}'", ex.Message);
        Assert.Contains(reason, ex.Message);
    }

    [Fact]
    public void Bad_example_names_the_response_field_and_skips_are_logged()
    {
        var text = "{\"prompt\": \"Q\", \"response\": \"fine\"}\n{\"prompt\": \"Q\", \"response\": \"\"}\n{\"prompt\": \"Q\", \"response\": true}\n";
        var ex = Assert.Throws<DatasetFormatException>(() => GenericJsonlReader.ReadNegatives(new StringReader(text), "n.jsonl"));
        Assert.Equal("n.jsonl, line 2, field 'response': is empty", ex.Message);

        var logger = new ListLogger();
        var result = GenericJsonlReader.ReadRetain(new StringReader(text), "n.jsonl", new DatasetReadOptions { BadRecords = BadRecordPolicy.Skip, Logger = logger });
        Assert.Single(result.Records);
        Assert.Equal(new[] { 2, 3 }, result.Skipped.Select(s => s.Line));
        Assert.Equal("n.jsonl, line 3, field 'response': must be a string, got a boolean", result.Skipped[1].Message);
        Assert.Equal(3, logger.Entries.Count);
        Assert.All(logger.Entries, e => Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, e.Level));
        Assert.Contains("n.jsonl, line 2, field 'response'", logger.Entries[0].Message);
    }
}
