namespace U2A.Core.Tokenization;

/// <summary>Options of a render, named as the Hugging Face template variables they stand for.</summary>
public sealed record ChatRenderOptions
{
    /// <summary><c>add_generation_prompt</c>: end with the header of an assistant turn (the conversation must not end with an assistant message).</summary>
    public bool AddGenerationPrompt { get; init; }

    /// <summary><c>enable_thinking</c>: null leaves it undefined (the template's default); Qwen3 adds an empty <c>&lt;think&gt;</c> block to the generation prompt when false.</summary>
    public bool? EnableThinking { get; init; }
}

/// <summary>Where one message lies in a rendered conversation (indices into <see cref="ChatRendering.Text"/>).</summary>
/// <param name="Index">The message's index in the conversation.</param>
/// <param name="Role">The message's role.</param>
/// <param name="Start">Where the message's turn begins (its header; for the first message, any BOS text before it).</param>
/// <param name="ResponseStart">
/// Where the tokens a model learns for this turn begin, were it the response: <see cref="ContentStart"/>, except for a
/// Qwen3 turn with a non-empty reasoning block (the <c>&lt;think&gt;</c> it generated) and a turn whose format puts a
/// separator on the response side (<see cref="ChatTurnFormat.ResponsePrefix"/>, the space of "Assistant: ").
/// </param>
/// <param name="ContentStart">Where the message's content, as rendered, begins.</param>
/// <param name="ContentEnd">Where the content ends.</param>
/// <param name="End">Where the turn ends, after the end-of-turn text the template appends.</param>
public sealed record ChatSpan(int Index, string Role, int Start, int ResponseStart, int ContentStart, int ContentEnd, int End);

/// <summary>A rendered conversation and where each message lies in it.</summary>
/// <param name="Text">The rendered text (what Hugging Face's <c>apply_chat_template(..., tokenize=False)</c> returns).</param>
/// <param name="Messages">One span per message, in conversation order.</param>
public sealed record ChatRendering(string Text, IReadOnlyList<ChatSpan> Messages);

/// <summary>
/// A conversation ending with the assistant's response, split where the response begins: <c>Prompt + Response</c> is
/// the whole rendered conversation.
/// </summary>
/// <param name="Prompt">Everything before the response (the history and the assistant's header).</param>
/// <param name="Response">The response from where its content begins, with the end-of-turn text the template appends.</param>
/// <param name="Span">The response message's span in the whole render.</param>
public sealed record ChatPromptResponse(string Prompt, string Response, ChatSpan Span);
