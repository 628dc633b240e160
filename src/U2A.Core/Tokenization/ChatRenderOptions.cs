namespace U2A.Core.Tokenization;

/// <summary>Options of a render, named as the Hugging Face template variables they stand for.</summary>
public sealed record ChatRenderOptions
{
    /// <summary><c>add_generation_prompt</c>: end with the header of an assistant turn (the conversation must not end with an assistant message).</summary>
    public bool AddGenerationPrompt { get; init; }

    /// <summary><c>enable_thinking</c>: null leaves it undefined (the template's default); Qwen3 adds an empty <c>&lt;think&gt;</c> block to the generation prompt when false.</summary>
    public bool? EnableThinking { get; init; }
}
