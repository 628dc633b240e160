namespace U2A.Core.Tokenization;

/// <summary>How one role's turn is written: <c>Prefix + ResponsePrefix + content + Suffix</c>.</summary>
/// <param name="Prefix">The turn's header (prompt side), e.g. <c>"&lt;|im_start|&gt;assistant\n"</c>. The assistant's prefix is also the generation prompt.</param>
/// <param name="Suffix">The end-of-turn text, e.g. <c>"&lt;|im_end|&gt;\n"</c>; for the assistant it belongs to the response (the model learns to end its turn).</param>
/// <param name="ResponsePrefix">Text between the header and the content that belongs to the response (the space of <c>"Assistant: "</c>); usually empty.</param>
public sealed record ChatTurnFormat(string Prefix, string Suffix, string ResponsePrefix = "");
