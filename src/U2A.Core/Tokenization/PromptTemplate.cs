namespace U2A.Core.Tokenization;

/// <summary>
/// How a prompt and a response become text: <c>PromptFormat</c> with <c>{prompt}</c> replaced, then
/// <c>ResponsePrefix + response + ResponseSuffix</c>. The two parts are tokenised separately, so the response starts at
/// an exact token index.
/// </summary>
/// <param name="PromptFormat">The prompt text, holding the placeholder <c>{prompt}</c> exactly once.</param>
/// <param name="ResponsePrefix">Text put before the response (part of the response tokens), e.g. the space after "Assistant:".</param>
/// <param name="ResponseSuffix">Text put after the response (part of the response tokens), e.g. an end-of-turn marker.</param>
public sealed record PromptTemplate(string PromptFormat, string ResponsePrefix = "", string ResponseSuffix = "")
{
    /// <summary>The placeholder replaced by the prompt.</summary>
    public const string Placeholder = "{prompt}";

    /// <summary>Prompt and response as they are, concatenated (use it for HH-RLHF records, whose prompts already hold the dialogue).</summary>
    public static PromptTemplate Plain { get; } = new(Placeholder);

    /// <summary>Anthropic's dialogue format: <c>"\n\nHuman: {prompt}\n\nAssistant:"</c>, the response after one space.</summary>
    public static PromptTemplate HumanAssistant { get; } = new("\n\nHuman: " + Placeholder + "\n\nAssistant:", " ");

    /// <summary>A ChatML-like format: <c>&lt;|im_start|&gt;user\n{prompt}&lt;|im_end|&gt;\n&lt;|im_start|&gt;assistant\n</c>, the response closed by <c>&lt;|im_end|&gt;</c>.</summary>
    public static PromptTemplate ChatMl { get; } = new("<|im_start|>user\n" + Placeholder + "<|im_end|>\n<|im_start|>assistant\n", "", "<|im_end|>");

    /// <summary>The prompt part of the text.</summary>
    public string FormatPrompt(string prompt)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        int at = PromptFormat.IndexOf(Placeholder, StringComparison.Ordinal);
        if (at < 0 || PromptFormat.IndexOf(Placeholder, at + 1, StringComparison.Ordinal) >= 0)
            throw new InvalidOperationException($"PromptFormat must hold {Placeholder} exactly once: \"{PromptFormat}\".");
        return string.Concat(PromptFormat.AsSpan(0, at), prompt, PromptFormat.AsSpan(at + Placeholder.Length));
    }

    /// <summary>The response part of the text.</summary>
    public string FormatResponse(string response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return ResponsePrefix + response + ResponseSuffix;
    }
}
