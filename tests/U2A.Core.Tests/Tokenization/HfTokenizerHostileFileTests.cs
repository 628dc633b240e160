using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using U2A.Core.Tokenization;

namespace U2A.Core.Tests.Tokenization;

/// <summary>tokenizer.json files are untrusted: ids that name two tokens are refused naming the JSON path, and a
/// tokenizer.json without a tokenizer_config.json beside it loads.</summary>
public class HfTokenizerHostileFileTests
{
    private static string Qwen3Dir => Path.Combine(typeof(HfTokenizerHostileFileTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .First(a => a.Key == "RepoRoot").Value!, "tests", "data", "tokenizers", "qwen3");

    private static readonly Lazy<JsonObject> Qwen3 = new(() => JsonNode.Parse(File.ReadAllText(Path.Combine(Qwen3Dir, "tokenizer.json")))!.AsObject());

    private static TokenizerFileException Refused(Action<JsonObject> edit)
    {
        var json = Qwen3.Value.DeepClone().AsObject();
        edit(json);
        return Assert.Throws<TokenizerFileException>(() => HfTokenizer.FromJson(Encoding.UTF8.GetBytes(json.ToJsonString())));
    }

    [Fact]
    public void A_tokenizer_json_without_a_config_loads_through_the_file_and_the_folder()
    {
        var tokenizer = HfTokenizer.FromFile(Path.Combine(Qwen3Dir, "tokenizer.json"), eosToken: "<|im_end|>");
        Assert.Equal("Hello 世界", tokenizer.Decode(tokenizer.Encode("Hello 世界")));
        string dir = Directory.CreateTempSubdirectory("u2a-tok-").FullName;
        try
        {
            File.Copy(Path.Combine(Qwen3Dir, "tokenizer.json"), Path.Combine(dir, "tokenizer.json"));
            var fromFolder = TokenizerLoader.FromFolder(dir, eosToken: "<|im_end|>");
            Assert.Equal(tokenizer.Encode("Hello 世界"), fromFolder.Encode("Hello 世界"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void An_id_given_to_two_vocabulary_tokens_is_refused()
    {
        var e = Refused(j => j["model"]!["vocab"]!["zzqqx"] = 0);
        Assert.Contains("$.model.vocab", e.Message);
        Assert.Contains("id 0 is given to both", e.Message);
    }

    [Fact]
    public void An_added_token_on_an_id_the_vocabulary_or_another_added_token_holds_is_refused()
    {
        var e = Refused(j => j["added_tokens"]!.AsArray().Add(new JsonObject { ["id"] = 0, ["content"] = "<|other|>", ["special"] = true }));
        Assert.Contains("takes id 0, which the vocabulary gives to", e.Message);
        var first = Qwen3.Value["added_tokens"]![0]!;
        var e2 = Refused(j => j["added_tokens"]!.AsArray().Add(new JsonObject { ["id"] = first["id"]!.GetValue<int>(), ["content"] = "<|other|>", ["special"] = true }));
        Assert.Contains("share id", e2.Message);
    }
}
