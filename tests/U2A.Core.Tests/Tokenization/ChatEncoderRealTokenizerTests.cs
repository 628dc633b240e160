using System.Reflection;
using U2A.Core.Tokenization;

namespace U2A.Core.Tests.Tokenization;

/// <summary>
/// Chat encoding with the real tokenizers: for every fixture conversation that ends with the assistant's reply, the prompt and
/// response token ids put together equal the tokenizer's ids of the whole render (the split at the assistant's content is a token
/// boundary), and the response ids decode to exactly the assistant's content plus the end-of-turn text.
/// </summary>
public class ChatEncoderRealTokenizerTests
{
    private static string Root => typeof(ChatEncoderRealTokenizerTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "RepoRoot").Value!;

    [SkippableTheory]
    [InlineData("qwen3")]
    [InlineData("llama3_1")]
    public void The_response_mask_starts_at_the_assistants_content_on_a_token_boundary(string name)
    {
        string folder = name == "qwen3"
            ? Path.Combine(Root, "tests", "data", "tokenizers", "qwen3")
            : Path.GetDirectoryName(ChatFixtures.RequireLlamaConfig())!;
        var tokenizer = TokenizerLoader.FromFolder(folder);
        var format = ChatTemplate.Load(Path.Combine(folder, "tokenizer_config.json"));
        var encoder = new ChatEncoder(tokenizer, format);
        int checkedCases = 0;
        foreach (var c in ChatFixtures.Load(name).Cases)
        {
            if (c.Messages.Count == 0 || c.Messages[^1].Role != ChatRole.Assistant || c.Options.AddGenerationPrompt) continue;
            var split = format.SplitResponse(c.Messages, c.Options);
            var encoded = encoder.Encode(c.Messages, c.Options);
            int eos = encoded.Length - encoded.ResponseStart - tokenizer.EncodeContinuation(split.Response).Count;
            var whole = tokenizer.Encode(split.Prompt + split.Response);
            Assert.True(whole.SequenceEqual(encoded.Ids.Take(encoded.Length - eos)),
                $"{c.Id}: prompt + response ids differ from the ids of the whole render (the split is not a token boundary)");
            Assert.Equal(split.Response, tokenizer.Decode(encoded.Ids.Skip(encoded.ResponseStart).Take(encoded.Length - encoded.ResponseStart - eos)));
            Assert.Equal(split.Prompt, tokenizer.Decode(encoded.Ids.Take(encoded.ResponseStart)));
            checkedCases++;
        }
        Assert.True(checkedCases >= 10, $"only {checkedCases} fixture conversations end with an assistant reply");
    }
}
