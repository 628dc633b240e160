using U2A.Core.Tokenization;

namespace U2A.Core.Tests.Tokenization;

public class PromptResponseEncoderTests
{
    [Fact]
    public void Encoder_marks_the_exact_response_start_for_each_template()
    {
        var gpt2 = MlTokenizer.Gpt2();
        foreach (var template in new[] { PromptTemplate.Plain, PromptTemplate.HumanAssistant, PromptTemplate.ChatMl })
        {
            var enc = new PromptResponseEncoder(gpt2, template);
            var s = enc.Encode("How do I bake bread?", "Mix flour, water and yeast.");
            Assert.Equal(template.FormatPrompt("How do I bake bread?"), gpt2.Decode(s.Ids[..s.ResponseStart]));
            Assert.Equal(template.FormatResponse("Mix flour, water and yeast.") + "<|endoftext|>", gpt2.Decode(s.Ids[s.ResponseStart..]));
            Assert.Equal(0, s.LeadingSpecialTokens); // GPT-2 has no BOS
        }
        Assert.Equal("\n\nHuman: Hi\n\nAssistant:", PromptTemplate.HumanAssistant.FormatPrompt("Hi"));
        Assert.Equal(" Hello", PromptTemplate.HumanAssistant.FormatResponse("Hello"));
        Assert.Equal("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", PromptTemplate.ChatMl.FormatPrompt("Hi"));
        Assert.Equal("Hello<|im_end|>", PromptTemplate.ChatMl.FormatResponse("Hello"));
        Assert.Equal("literal {prompt} stays", PromptTemplate.Plain.FormatPrompt("literal {prompt} stays"));
        Assert.Throws<InvalidOperationException>(() => new PromptTemplate("no placeholder").FormatPrompt("x"));
    }

    [Fact]
    public void Encoder_adds_bos_and_eos_and_rejects_an_empty_prompt()
    {
        var tok = new WordTokenizer(["q", "a", "b"]);
        var s = new PromptResponseEncoder(tok).Encode("q", "a b");
        Assert.Equal(new[] { 1, 4, 5, 6, 2 }, s.Ids);
        Assert.Equal((2, 1), (s.ResponseStart, s.LeadingSpecialTokens));

        var noSpecials = new PromptResponseEncoder(tok, addBos: false, addEos: false).Encode("q", "a b");
        Assert.Equal(new[] { 4, 5, 6 }, noSpecials.Ids);
        Assert.Equal(1, noSpecials.ResponseStart);

        Assert.Throws<ArgumentException>(() => new PromptResponseEncoder(tok, addBos: false).Encode("", "a"));
        Assert.Throws<ArgumentException>(() => new PromptResponseEncoder(tok, addEos: false).Encode("q", " "));
        Assert.Equal(1, new PromptResponseEncoder(tok).Encode("", "a").ResponseStart); // BOS alone is a prompt
    }
}
