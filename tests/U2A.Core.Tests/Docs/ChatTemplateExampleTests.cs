using U2A.Core.Tokenization;

namespace U2A.Core.Tests.Docs;

/// <summary>Runs the chat-template example of docs/data.md on the committed Qwen3 config (<see cref="DocBlocksTests"/> checks that the page holds it verbatim).</summary>
public class ChatTemplateExampleTests
{
    [Fact]
    public void Data_md_chat_template_example_runs()
    {
        string modelDir = Path.Combine(DocsKit.RepoRoot, "tests", "fixtures", "chat");
        string configPath = Path.Combine(modelDir, "qwen3_tokenizer_config.json");
        // BEGIN data.md chat template
        // The model's own format, from its tokenizer_config.json (a model folder works too).
        ChatFormat format = ChatTemplate.Load(configPath);
        ChatMessage[] conversation =
        [
            ChatMessage.System("You are concise."),
            ChatMessage.User("What is the capital of France?"),
            ChatMessage.Assistant("Paris."),
        ];
        // A prompt for generation: the history and the assistant header.
        string prompt = format.RenderText(conversation[..2], new ChatRenderOptions { AddGenerationPrompt = true });
        // Training text: split where the assistant's content begins.
        ChatPromptResponse split = format.SplitResponse(conversation);
        Console.WriteLine(split.Response); // "Paris.<|im_end|>\n"
        // Token ids with the response boundary, for a tokenizer that knows <|im_start|> etc. (the model's tokenizer.json):
        // var encoder = new PromptResponseEncoder(tokenizer, format, systemPrompt: "You are concise.");
        // END data.md chat template

        Assert.Same(ChatFormat.Qwen3, format);
        Assert.Equal("<|im_start|>system\nYou are concise.<|im_end|>\n<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n", prompt);
        Assert.Equal("Paris.<|im_end|>\n", split.Response);
        Assert.EndsWith("<|im_start|>assistant\n<think>\n\n</think>\n\n", split.Prompt);
    }
}
