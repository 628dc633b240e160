namespace U2A.Core.Tokenization;

/// <summary>
/// A conversation ending with the assistant's response, split where the response begins: <c>Prompt + Response</c> is
/// the whole rendered conversation.
/// </summary>
/// <param name="Prompt">Everything before the response (the history and the assistant's header).</param>
/// <param name="Response">The response from where its content begins, with the end-of-turn text the template appends.</param>
/// <param name="Span">The response message's span in the whole render.</param>
public sealed record ChatPromptResponse(string Prompt, string Response, ChatSpan Span);
