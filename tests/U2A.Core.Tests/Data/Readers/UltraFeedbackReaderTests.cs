using U2A.Core.Data;

namespace U2A.Core.Tests.Data.Readers;

/// <summary>UltraFeedback-binarized has no public copy in its original layout here: records are hand-written in the documented layout.</summary>
public class UltraFeedbackReaderTests
{
    private static string Record(string prompt, string chosen, string rejected, string userRole = "user", string? rejectedUser = null) =>
        "{\"prompt\": " + Q(prompt) + ", \"prompt_id\": \"abc123\", " +
        "\"chosen\": [{\"content\": " + Q(prompt) + ", \"role\": \"" + userRole + "\"}, {\"content\": " + Q(chosen) + ", \"role\": \"assistant\"}], " +
        "\"rejected\": [{\"content\": " + Q(rejectedUser ?? prompt) + ", \"role\": \"user\"}, {\"content\": " + Q(rejected) + ", \"role\": \"assistant\"}], " +
        "\"messages\": [{\"content\": " + Q(prompt) + ", \"role\": \"user\"}, {\"content\": " + Q(chosen) + ", \"role\": \"assistant\"}], " +
        "\"score_chosen\": 8.5, \"score_rejected\": 4.0}";

    private static string Q(string s) => System.Text.Json.JsonSerializer.Serialize(s);

    [Fact]
    public void Hand_written_records_in_the_documented_layout_are_read()
    {
        var text = Record("What is 2+2?", "2+2 = 4.", "It is 5, \"obviously\".") + "\n" +
                   Record("Name a colour.", "Blue.\nOr green.", "Tuesday.") + "\n";
        var result = UltraFeedbackReader.Read(new StringReader(text), "uf.jsonl");
        Assert.Equal(2, result.Count);
        Assert.Equal(new PreferencePair("What is 2+2?", "2+2 = 4.", "It is 5, \"obviously\".", new SourceLocation("uf.jsonl", 1)), result.Records[0]);
        Assert.Equal(("Name a colour.", "Blue.\nOr green.", "Tuesday.", 2),
            (result.Records[1].Prompt, result.Records[1].Chosen, result.Records[1].Rejected, result.Records[1].Source!.Value.Line));
    }

    [Theory]
    [InlineData("\"role\": \"assistant\"}], \"rejected\"", "\"role\": \"system\"}], \"rejected\"", "chosen[1].role", "must be \"assistant\"")]
    [InlineData("\"chosen\": [", "\"chosen\": 7, \"x\": [", "chosen", "must be an array")]
    [InlineData("\"score_rejected\": 4.0}", "\"score_rejected\": 4.0", null, "malformed JSON")]
    public void Bad_record_names_line_and_field(string find, string replace, string? field, string reason)
    {
        var good = Record("p?", "yes", "no");
        var bad = good.Replace(find, replace);
        Assert.NotEqual(good, bad);
        var ex = Assert.Throws<DatasetFormatException>(() => UltraFeedbackReader.Read(new StringReader(good + "\n" + bad + "\n"), "uf.jsonl"));
        Assert.Equal((2, field), (ex.Line, ex.Field));
        Assert.Contains("uf.jsonl, line 2", ex.Message);
        if (field is not null) Assert.Contains($"field '{field}'", ex.Message);
        Assert.Contains(reason, ex.Message);
    }

    [Fact]
    public void Other_layout_violations_name_the_field()
    {
        void Check(string record, string field, string reason)
        {
            var ex = Assert.Throws<DatasetFormatException>(() => UltraFeedbackReader.Read(new StringReader(record + "\n"), "uf.jsonl"));
            Assert.Equal((1, field), (ex.Line, ex.Field));
            Assert.Contains($"uf.jsonl, line 1, field '{field}'", ex.Message);
            Assert.Contains(reason, ex.Message);
        }
        Check(Record("p?", "yes", "no", userRole: "assistant"), "chosen[0].role", "must be \"user\"");
        Check(Record("p?", "yes", "no", rejectedUser: "another prompt"), "rejected[0].content", "differs from 'prompt'");
        Check(Record("p?", "", "no"), "chosen[1].content", "is empty");
        Check(Record("p?", "yes", "  "), "rejected[1].content", "whitespace only");
        Check("{\"prompt\": \"p?\", \"chosen\": [{\"content\": \"p?\", \"role\": \"user\"}], \"rejected\": []}", "chosen", "got 1");
        Check("{\"chosen\": [], \"rejected\": []}", "prompt", "is missing");
        Check("{\"prompt\": \"p?\", \"chosen\": [\"p?\", \"yes\"], \"rejected\": []}", "chosen[0]", "must be an object");
        Check(Record("p?", "yes", "no").Replace("\"content\": \"yes\"", "\"content\": 42"), "chosen[1].content", "must be a string, got a number");
    }
}
