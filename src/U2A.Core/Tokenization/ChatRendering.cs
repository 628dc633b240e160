namespace U2A.Core.Tokenization;

/// <summary>A rendered conversation and where each message lies in it.</summary>
/// <param name="Text">The rendered text (what Hugging Face's <c>apply_chat_template(..., tokenize=False)</c> returns).</param>
/// <param name="Messages">One span per message, in conversation order.</param>
public sealed record ChatRendering(string Text, IReadOnlyList<ChatSpan> Messages);
