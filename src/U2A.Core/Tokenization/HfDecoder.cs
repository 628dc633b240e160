namespace U2A.Core.Tokenization;

/// <summary>A decoder of <c>tokenizer.json</c>: turns the list of token strings into text pieces (Hugging Face's <c>decode_chain</c>).</summary>
internal abstract class HfDecoder
{
    public abstract List<string> DecodeChain(List<string> tokens);
}
