using System.Text.Json;
using U2A.Core.Data;
using U2A.Core.Tests.Data;
using U2A.Core.Tokenization;
using Xunit.Abstractions;

namespace U2A.Core.Tests.Tokenization;

public class Gpt2TokenizerTests(ITestOutputHelper output)
{
    [Fact]
    public void Gpt2_is_offline_with_the_known_ids_and_special_tokens()
    {
        var gpt2 = MlTokenizer.Gpt2();
        Assert.Equal(new[] { 15496, 995 }, gpt2.Encode("Hello world"));
        Assert.Equal(50257, gpt2.VocabSize);
        Assert.Equal(50256, gpt2.EosId);
        Assert.Equal(50256, gpt2.PadId);
        Assert.Null(gpt2.BosId);
        Assert.Equal("<|endoftext|>", gpt2.Decode(new[] { 50256 }));
        Assert.Same(gpt2, MlTokenizer.Gpt2());
    }

    [SkippableFact]
    public void Gpt2_round_trips_every_text_of_the_real_samples()
    {
        RealData.RequireShared();
        var gpt2 = MlTokenizer.Gpt2();
        var texts = new List<string>();
        foreach (var line in File.ReadLines(RealData.HhRlhf))
        {
            var d = JsonDocument.Parse(line).RootElement;
            texts.Add(d.GetProperty("chosen").GetString()!);
            texts.Add(d.GetProperty("rejected").GetString()!);
        }
        Assert.Equal(2000, texts.Count);
        foreach (var r in PkuSafeRlhfReader.Read(RealData.Pku).Records) texts.AddRange([r.Prompt, r.Response0, r.Response1]);
        foreach (var b in AdvBenchReader.Read(RealData.AdvBench).Records) texts.AddRange([b.Goal, b.Target]);
        Assert.Equal(2000 + 60 + 1040, texts.Count);

        long tokens = 0;
        int maxIds = 0;
        foreach (var t in texts)
        {
            var ids = gpt2.Encode(t);
            Assert.All(ids, id => Assert.InRange(id, 0, gpt2.VocabSize - 1));
            Assert.Equal(t, gpt2.Decode(ids));
            tokens += ids.Count;
            maxIds = Math.Max(maxIds, ids.Count);
        }
        output.WriteLine($"{texts.Count} texts, {tokens} GPT-2 tokens, longest {maxIds} tokens");
    }

    [Fact]
    public void Hh_rlhf_pairs_encode_with_an_exact_response_boundary()
    {
        var encoder = new PromptResponseEncoder(MlTokenizer.Gpt2(), PromptTemplate.Plain, addEos: true);
        var pairs = HhRlhfReader.Read(RealData.HhRlhf, new DatasetReadOptions { BadRecords = BadRecordPolicy.Skip }).Records;
        var gpt2 = encoder.Tokenizer;
        int longest = 0;
        foreach (var p in pairs)
        {
            foreach (var response in new[] { p.Chosen, p.Rejected })
            {
                var s = encoder.Encode(p.Prompt, response);
                Assert.Equal(p.Prompt, gpt2.Decode(s.Ids[..s.ResponseStart]));
                Assert.Equal(response, gpt2.Decode(s.Ids[s.ResponseStart..^1]));
                Assert.Equal(gpt2.EosId, s.Ids[^1]);
                longest = Math.Max(longest, s.Length);
            }
        }
        output.WriteLine($"{pairs.Count} pairs; longest prompt+response+EOS: {longest} GPT-2 tokens");
    }
}
