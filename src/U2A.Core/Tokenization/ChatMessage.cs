namespace U2A.Core.Tokenization;

/// <summary>One message of a conversation, as Hugging Face chat templates take it (<c>{"role", "content"}</c>).</summary>
/// <param name="Role"><see cref="ChatRole.System"/>, <see cref="ChatRole.User"/> or <see cref="ChatRole.Assistant"/>.</param>
/// <param name="Content">The text, rendered as the template renders it (some templates trim it).</param>
public sealed record ChatMessage(string Role, string Content)
{
    /// <summary>
    /// The model's reasoning for an assistant message (<c>reasoning_content</c>), or null. Only templates that read it
    /// use it (Qwen3 renders it in a <c>&lt;think&gt;</c> block); the others ignore it, as their Jinja does.
    /// </summary>
    public string? ReasoningContent { get; init; }

    /// <summary>A system message.</summary>
    public static ChatMessage System(string content) => new(ChatRole.System, content);

    /// <summary>A user message.</summary>
    public static ChatMessage User(string content) => new(ChatRole.User, content);

    /// <summary>An assistant message.</summary>
    public static ChatMessage Assistant(string content) => new(ChatRole.Assistant, content);
}
