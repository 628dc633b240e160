namespace U2A.Core.Tokenization;

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
