using U2A.Core.Tokenization;

namespace U2A.Core.Tests.Tokenization;

/// <summary>Token-level response boundaries of <see cref="ChatEncoder"/> (real tokenizer.json tests come with the tokenizer.json loader).</summary>
public class ChatEncoderTests
{
    /// <summary>One id per character, special-token literals recognised first (as a Hugging Face tokenizer does).</summary>
    private sealed class CharTokenizer(params string[] specials) : ITextTokenizer
    {
        public int VocabSize => 70000;
        public int? BosId => 65536;
        public int EosId => 65537;
        public int PadId => EosId;

        public IReadOnlyList<int> Encode(string text)
        {
            var ids = new List<int>();
            for (int i = 0; i < text.Length;)
            {
                int s = Array.FindIndex(specials, t => string.CompareOrdinal(text, i, t, 0, t.Length) == 0);
                if (s >= 0) { ids.Add(66000 + s); i += specials[s].Length; }
                else ids.Add(text[i++]);
            }
            return ids;
        }

        public string Decode(IEnumerable<int> ids) => string.Concat(ids.Select(id => id >= 66000 ? specials[id - 66000] : ((char)id).ToString()));
    }

    [Fact]
    public void Llama3_sequence_starts_the_response_at_the_content_keeps_the_BOS_and_adds_no_EOS()
    {
        var tok = new CharTokenizer("<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>");
        var enc = new ChatEncoder(tok, ChatFormat.Llama3());
        var seq = enc.Encode([ChatMessage.System("Be kind."), ChatMessage.User("Hi"), ChatMessage.Assistant("  Hello!\n")]);
        Assert.Equal("Hello!<|eot_id|>", tok.Decode(seq.Ids[seq.ResponseStart..]));
        Assert.Equal(ChatFormat.Llama3().SplitResponse([ChatMessage.System("Be kind."), ChatMessage.User("Hi"), ChatMessage.Assistant("Hello!")]).Prompt,
            tok.Decode(seq.Ids[..seq.ResponseStart]));
        Assert.Equal(66000, seq.Ids[0]);
        Assert.Equal(1, seq.LeadingSpecialTokens);
        Assert.Equal(66003, seq.Ids[^1]);
    }

    [Fact]
    public void Qwen3_sequence_response_is_the_content_and_im_end_newline()
    {
        var tok = new CharTokenizer("<|im_start|>", "<|im_end|>", "<think>", "</think>");
        var seq = new ChatEncoder(tok, ChatFormat.Qwen3).Encode("Hi", "Hello!", system: "sys");
        Assert.Equal("Hello!<|im_end|>\n", tok.Decode(seq.Ids[seq.ResponseStart..]));
        Assert.EndsWith("<|im_start|>assistant\n<think>\n\n</think>\n\n", tok.Decode(seq.Ids[..seq.ResponseStart]));
        Assert.Equal(0, seq.LeadingSpecialTokens);
    }

    [Fact]
    public void HumanAssistant_with_GPT2_equals_the_PromptTemplate_encoding_EOS_included()
    {
        var gpt2 = MlTokenizer.Gpt2();
        var chat = new ChatEncoder(gpt2, ChatFormat.HumanAssistant).Encode("How do I bake bread?", "Mix flour and water.");
        var plain = new PromptResponseEncoder(gpt2, PromptTemplate.HumanAssistant).Encode("How do I bake bread?", "Mix flour and water.");
        Assert.Equal(plain.Ids, chat.Ids);
        Assert.Equal(plain.ResponseStart, chat.ResponseStart);
        Assert.Equal(gpt2.EosId, chat.Ids[^1]);
        Assert.Equal(" Mix flour and water.<|endoftext|>", gpt2.Decode(chat.Ids[chat.ResponseStart..]));
        var noEos = new ChatEncoder(gpt2, ChatFormat.HumanAssistant, addEos: false).Encode("Q", "A");
        Assert.NotEqual(gpt2.EosId, noEos.Ids[^1]);
    }

    [Fact]
    public void A_tokenizer_that_splits_the_special_tokens_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => new ChatEncoder(MlTokenizer.Gpt2(), ChatFormat.ChatMl));
        Assert.Contains("'<|im_start|>'", e.Message);
        Assert.Contains("tokenizer.json", e.Message);
    }

    [Fact]
    public void PromptResponseEncoder_with_a_chat_format_encodes_through_the_chat_encoder()
    {
        var tok = new CharTokenizer("<|im_start|>", "<|im_end|>", "<think>", "</think>");
        var enc = new PromptResponseEncoder(tok, ChatFormat.Qwen3, systemPrompt: "Be brief.");
        Assert.False(enc.AddsBos);
        Assert.False(enc.AddsEos);
        var seq = enc.Encode("Hi", "Hello!");
        Assert.Equal(new ChatEncoder(tok, ChatFormat.Qwen3).Encode("Hi", "Hello!", "Be brief.").Ids, seq.Ids);
        Assert.StartsWith("<|im_start|>system\nBe brief.<|im_end|>\n", tok.Decode(seq.Ids));
    }
}
