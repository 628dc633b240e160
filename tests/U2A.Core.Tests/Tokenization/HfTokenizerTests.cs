using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using U2A.Core.Tokenization;

namespace U2A.Core.Tests.Tokenization;

/// <summary>
/// HfTokenizer on small tokenizer.json files written here, with ids worked out by hand from Hugging Face's rules; the
/// hand-written split-pattern matcher against .NET's regex engine; errors for malformed and unsupported files.
/// </summary>
public sealed class HfTokenizerTests
{
    private const string QwenPattern = HfKnownPatternMatcher.Qwen2;

    // Byte-level vocabulary: ids 0-255 are the bytes (GPT-2's byte characters), then the merged tokens in merge order:
    // ll=256 he=257 hell=258 hello=259 Ġw=260 or=261, then Ġworld=262 (reachable by no merge), then the added tokens.
    private static readonly string[] Merges = ["l l", "h e", "he ll", "hell o", "\u0120 w", "o r"];

    private static JsonObject ByteLevelTokenizer(bool ignoreMerges = false, JsonNode? normalizer = null, JsonArray? added = null, JsonNode? postProcessor = null)
    {
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++) vocab[HfBpeModel.ByteToChar[b].ToString()] = b;
        int next = 256;
        foreach (var m in Merges) vocab[m.Replace(" ", "")] = next++;
        vocab["\u0120world"] = next;
        return new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = added ?? new JsonArray(
                Added(263, "<|bos|>", special: true), Added(264, "<|eos|>", special: true), Added(265, "[L]", lstrip: true),
                Added(266, "[R]", rstrip: true), Added(267, "WORD", singleWord: true)),
            ["normalizer"] = normalizer,
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = QwenPattern }, ["behavior"] = "Isolated", ["invert"] = false },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = false, ["use_regex"] = false }),
            },
            ["post_processor"] = postProcessor ?? new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(Special("<|bos|>"), new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }, Special("<|eos|>")),
                ["pair"] = new JsonArray(),
                ["special_tokens"] = new JsonObject
                {
                    ["<|bos|>"] = new JsonObject { ["id"] = "<|bos|>", ["ids"] = new JsonArray(263), ["tokens"] = new JsonArray("<|bos|>") },
                    ["<|eos|>"] = new JsonObject { ["id"] = "<|eos|>", ["ids"] = new JsonArray(264), ["tokens"] = new JsonArray("<|eos|>") },
                },
            },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = "", ["end_of_word_suffix"] = "",
                ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = ignoreMerges,
                ["vocab"] = vocab, ["merges"] = new JsonArray(Merges.Select(m => (JsonNode)JsonValue.Create(m)!).ToArray()),
            },
        };
    }

    private static JsonObject Added(int id, string content, bool special = false, bool lstrip = false, bool rstrip = false, bool singleWord = false, bool? normalized = null) => new()
    {
        ["id"] = id, ["content"] = content, ["single_word"] = singleWord, ["lstrip"] = lstrip, ["rstrip"] = rstrip,
        ["normalized"] = normalized ?? !special, ["special"] = special,
    };

    private static JsonObject Special(string id) => new() { ["SpecialToken"] = new JsonObject { ["id"] = id, ["type_id"] = 0 } };

    private static readonly string Config = """{"eos_token": "<|eos|>", "bos_token": {"content": "<|bos|>", "lstrip": false}, "clean_up_tokenization_spaces": false}""";

    private static HfTokenizer Load(JsonNode json, string? config = null) =>
        HfTokenizer.FromJson(Encoding.UTF8.GetBytes(json.ToJsonString()), Encoding.UTF8.GetBytes(config ?? Config));

    [Fact]
    public void Byte_level_bpe_merges_by_rank_leftmost_first()
    {
        var tok = Load(ByteLevelTokenizer());
        // "hello" -> hello; " world" -> Ġ w o r l d: (Ġ,w) rank 4 before (o,r) rank 5, then nothing joins Ġw+or.
        Assert.Equal(new int[] { 259, 260, 261, 'l', 'd' }, tok.Encode("hello world"));
        Assert.Equal(new int[] { 256, 'l' }, tok.Encode("lll")); // equal ranks: the leftmost pair first
        Assert.Equal("hello world", tok.Decode(tok.Encode("hello world")));
        Assert.Equal((264, 264, 263, 265 + 3), (tok.EosId, tok.PadId, tok.BosId!.Value, tok.VocabSize));
        Assert.Equal(259, tok.TokenToId("hello"));
        Assert.Equal("\u0120w", tok.IdToToken(260));
    }

    [Fact]
    public void Ignore_merges_takes_a_word_found_whole_in_the_vocabulary()
    {
        Assert.Equal(new int[] { 260, 261, 'l', 'd' }, Load(ByteLevelTokenizer(ignoreMerges: false)).Encode(" world"));
        Assert.Equal(new int[] { 262 }, Load(ByteLevelTokenizer(ignoreMerges: true)).Encode(" world"));
    }

    [Fact]
    public void Post_processor_adds_bos_and_eos_only_when_special_tokens_are_requested_and_decoding_can_skip_them()
    {
        var tok = Load(ByteLevelTokenizer());
        Assert.Equal(new int[] { 259 }, tok.Encode("hello"));
        Assert.Equal(new int[] { 263, 259, 264 }, tok.Encode("hello", addSpecialTokens: true));
        Assert.Equal("<|bos|>hello<|eos|>", tok.Decode([263, 259, 264]));
        Assert.Equal("hello", tok.Decode([263, 259, 264], skipSpecialTokens: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.Decode([99_999]));
        Assert.Throws<ArgumentOutOfRangeException>(() => tok.Decode([-1]));
    }

    [Fact]
    public void Special_token_literals_in_text_become_their_ids_with_lstrip_rstrip_and_single_word()
    {
        var tok = Load(ByteLevelTokenizer());
        Assert.Equal(new int[] { 263, 259, 264 }, tok.Encode("<|bos|>hello<|eos|>"));
        Assert.Equal(new int[] { 'a', 265, 32, 'b' }, tok.Encode("a   [L] b"));   // lstrip: the spaces before [L] are absorbed
        Assert.Equal(new int[] { 'a', 32, 266, 'b' }, tok.Encode("a [R]   b"));   // rstrip: the spaces after [R] are absorbed
        Assert.Equal(new int[] { 267, 32, 'x' }, tok.Encode("WORD x"));
        Assert.Equal(new int[] { 'a', 'W', 'O', 'R', 'D' }, tok.Encode("aWORD"));  // single_word: not a whole word, so plain text
        Assert.Equal(new int[] { '<', '|', 'b', 'o', 's' }, tok.Encode("<|bos")); // an incomplete literal is text
    }

    [Fact]
    public void Split_special_tokens_in_the_config_encodes_special_literals_as_text()
    {
        var tok = Load(ByteLevelTokenizer(), """{"eos_token": "<|eos|>", "split_special_tokens": true}""");
        Assert.Equal(new int[] { '<', '|', 'e', 'o', 's', '|', '>' }, tok.Encode("<|eos|>"));
        Assert.Equal(new int[] { 267 }, tok.Encode("WORD")); // not special: still recognised
    }

    [Fact]
    public void Normalized_added_tokens_match_the_normalised_text_and_clean_up_follows_the_option()
    {
        var json = ByteLevelTokenizer(
            normalizer: new JsonObject { ["type"] = "Sequence", ["normalizers"] = new JsonArray(new JsonObject { ["type"] = "NFC" }, new JsonObject { ["type"] = "Lowercase" }) },
            added: new JsonArray(Added(263, "<|bos|>", special: true), Added(264, "<|eos|>", special: true), Added(265, "Foo")));
        var tok = Load(json);
        Assert.Equal(new int[] { 265, 32, 'b', 'a', 'r' }, tok.Encode("FOO BAR"));
        Assert.Equal(new int[] { 'h', 0xC3, 0xA9 }, tok.Encode("he\u0301")); // NFC first: é is one character, two bytes
        var ids = tok.Encode("a .");
        Assert.Equal("a .", tok.Decode(ids));
        Assert.Equal("a.", tok.Decode(ids, skipSpecialTokens: false, cleanUpTokenizationSpaces: true));
        Assert.Equal("a .", tok.Decode(ids, skipSpecialTokens: false)); // the config turned clean-up off
    }

    [Fact]
    public void Lone_surrogates_are_encoded_as_the_replacement_character()
    {
        var tok = Load(ByteLevelTokenizer());
        Assert.Equal(tok.Encode("a\uFFFDb"), tok.Encode("a\uD800b"));
        Assert.Equal("a\uFFFDb", tok.Decode(tok.Encode("a\uDC00b")));
    }

    // A SentencePiece-style tokenizer.json (Llama 2 / Mistral): Metaspace pre-tokenizer, byte fallback, and the decoder
    // chain Replace(▁ -> space), ByteFallback, Fuse, Strip(one leading space). Ids: <unk>=0 <s>=1 </s>=2 <0x00>..<0xFF>=3..258
    // ▁=259 a=260 b=261 ▁a=262 ab=263.
    private static JsonObject MetaspaceTokenizer(bool byteFallback)
    {
        var vocab = new JsonObject { ["<unk>"] = 0, ["<s>"] = 1, ["</s>"] = 2 };
        for (int b = 0; b < 256; b++) vocab[$"<0x{b:X2}>"] = 3 + b;
        vocab["\u2581"] = 259; vocab["a"] = 260; vocab["b"] = 261; vocab["\u2581a"] = 262; vocab["ab"] = 263;
        return new JsonObject
        {
            ["added_tokens"] = new JsonArray(Added(0, "<unk>", special: true), Added(1, "<s>", special: true), Added(2, "</s>", special: true)),
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "\u2581", ["prepend_scheme"] = "first", ["split"] = true },
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(Special("<s>"), new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
                ["special_tokens"] = new JsonObject { ["<s>"] = new JsonObject { ["id"] = "<s>", ["ids"] = new JsonArray(1), ["tokens"] = new JsonArray("<s>") } },
            },
            ["decoder"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["decoders"] = new JsonArray(
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = "\u2581" }, ["content"] = " " },
                    new JsonObject { ["type"] = "ByteFallback" }, new JsonObject { ["type"] = "Fuse" },
                    new JsonObject { ["type"] = "Strip", ["content"] = " ", ["start"] = 1, ["stop"] = 0 }),
            },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["unk_token"] = "<unk>", ["fuse_unk"] = true, ["byte_fallback"] = byteFallback,
                ["vocab"] = vocab, ["merges"] = new JsonArray(new JsonArray("\u2581", "a"), new JsonArray("a", "b")),
            },
        };
    }

    [Fact]
    public void Metaspace_with_byte_fallback_encodes_and_decodes_like_sentencepiece()
    {
        var tok = Load(MetaspaceTokenizer(byteFallback: true), """{"eos_token": "</s>"}""");
        // "ab é" -> "▁ab▁é" -> "▁ab" "▁é"; (▁,a) rank 0 merges first, then nothing joins ▁a+b; é = C3 A9 by byte fallback.
        var ids = tok.Encode("ab é");
        Assert.Equal(new int[] { 262, 261, 259, 3 + 0xC3, 3 + 0xA9 }, ids);
        Assert.Equal("ab é", tok.Decode(ids));
        Assert.Equal(new int[] { 1, 262, 261, 259, 3 + 0xC3, 3 + 0xA9 }, tok.Encode("ab é", addSpecialTokens: true));
        Assert.Equal((1, 2), (tok.BosId!.Value, tok.EosId));
        Assert.Equal(new int[] { 263 }, tok.EncodeContinuation("ab")); // a continuation gets no ▁ prefix
        Assert.Equal(new int[] { 262, 261 }, tok.Encode("ab"));

        var unk = Load(MetaspaceTokenizer(byteFallback: false), """{"eos_token": "</s>"}""");
        Assert.Equal(new int[] { 262, 259, 0 }, unk.Encode("a éé")); // unknown characters: <unk>, fused
    }

    [Theory]
    [InlineData("Removed", false, "the|final|countdown")]
    [InlineData("Isolated", false, "the|-|final|-|-|countdown")]
    [InlineData("MergedWithPrevious", false, "the-|final-|-|countdown")]
    [InlineData("MergedWithNext", false, "the|-final|-|-countdown")]
    [InlineData("Contiguous", false, "the|-|final|--|countdown")]
    [InlineData("Removed", true, "the|final|countdown")]
    [InlineData("Isolated", true, "the|-|final|--|countdown")]
    [InlineData("MergedWithPrevious", true, "the-|final--|countdown")]
    public void Split_behaviours_follow_hugging_face(string behaviorName, bool invert, string expected)
    {
        // The examples of Hugging Face's SplitDelimiterBehavior documentation ("the-final--countdown", delimiter "-").
        // Inverted (pattern [^-]+), the pattern's matches are the content and the text between them ("-", "--") the delimiters.
        var behavior = Enum.Parse<HfSplitBehavior>(behaviorName);
        string text = "the-final--countdown";
        var matches = new List<(int, int)>();
        if (invert) new HfRegexMatcher(new Regex("[^-]+")).Find(text, matches);
        else new HfLiteralMatcher("-").Find(text, matches);
        var output = new List<string>();
        HfPreTokenizer.SplitAt(text, matches, behavior, invert, output);
        Assert.Equal(expected, string.Join("|", output));
    }

    [Theory]
    [InlineData(HfKnownPatternMatcher.Gpt2)]
    [InlineData(HfKnownPatternMatcher.Llama3)]
    [InlineData(HfKnownPatternMatcher.Qwen2)]
    public void Hand_written_pattern_matcher_equals_the_regex_on_basic_multilingual_plane_text(string pattern)
    {
        var matcher = HfKnownPatternMatcher.TryCreate(pattern)!;
        var regex = new HfRegexMatcher(new Regex(pattern, RegexOptions.CultureInvariant));
        string[] alphabet = ["a", "Z", "é", "中", "ß", "Ω", "1", "٣", "Ⅻ", "½", " ", " ", "  ", "\t", "\n", "\r", "\r\n", "\u00a0", "\u3000", "\u0085",
            "!", ".", "'", "'s", "'S", "'LL", "'re", "'Ve", "'d", "-", "\u0301", "€", "_", "😀"[..1] + "x"];
        var rng = new Random(11);
        int compared = 0;
        for (int n = 0; n < 3000; n++)
        {
            var sb = new StringBuilder();
            int len = rng.Next(1, 14);
            for (int k = 0; k < len; k++) sb.Append(alphabet[rng.Next(alphabet.Length)]);
            string text = sb.ToString().Replace("\uD83D", "#"); // BMP only: .NET's regex sees a surrogate pair as two characters
            var expected = new List<(int, int)>();
            var got = new List<(int, int)>();
            regex.Find(text, expected);
            matcher.Find(text, got);
            Assert.True(expected.SequenceEqual(got), $"{JsonSerializer.Serialize(text)}: regex {string.Join(",", expected)} matcher {string.Join(",", got)}");
            compared++;
        }
        Assert.Equal(3000, compared);
    }

    [Fact]
    public void Matcher_treats_letters_outside_the_basic_multilingual_plane_as_letters()
    {
        // 𝐀𝐁 (U+1D400, U+1D401) are letters: one word with the Qwen pattern; .NET's regex would split their surrogates off.
        var got = new List<(int, int)>();
        HfKnownPatternMatcher.TryCreate(QwenPattern)!.Find("\U0001D400\U0001D401 x", got);
        Assert.Equal(new[] { (0, 4), (4, 6) }, got);
    }

    // ---- Errors: the file and the JSON path of the offending value. ----

    private static TokenizerFileException LoadError(Action<JsonObject> mutate, string? config = null)
    {
        var json = ByteLevelTokenizer();
        mutate(json);
        return Assert.Throws<TokenizerFileException>(() => Load(json, config));
    }

    [Fact]
    public void Unsupported_components_are_refused_naming_the_json_path()
    {
        var e = LoadError(j => j["model"]!["type"] = "WordPiece");
        Assert.Equal(("tokenizer.json", "$.model.type"), (e.FilePath, e.JsonPath));
        Assert.Contains("WordPiece", e.Message);
        Assert.StartsWith("tokenizer.json at $.model.type:", e.Message);

        e = LoadError(j => j["pre_tokenizer"]!["pretokenizers"]!.AsArray().Insert(1, new JsonObject { ["type"] = "Whitespace" }));
        Assert.Equal("$.pre_tokenizer.pretokenizers[1].type", e.JsonPath);
        e = LoadError(j => j["normalizer"] = new JsonObject { ["type"] = "Precompiled", ["precompiled_charsmap"] = "AA==" });
        Assert.Equal("$.normalizer.type", e.JsonPath);
        e = LoadError(j => j["decoder"] = new JsonObject { ["type"] = "WordPiece" });
        Assert.Equal("$.decoder.type", e.JsonPath);
        e = LoadError(j => j["post_processor"] = new JsonObject { ["type"] = "Unknown" });
        Assert.Equal("$.post_processor.type", e.JsonPath);
        e = LoadError(j => j["model"]!["dropout"] = 0.1);
        Assert.Equal("$.model.dropout", e.JsonPath);
        e = LoadError(j => j["model"]!["continuing_subword_prefix"] = "##");
        Assert.Equal("$.model.continuing_subword_prefix", e.JsonPath);
        // ByteLevel must be the last pre-tokenizer (its pieces are bytes for the model).
        e = LoadError(j => j["pre_tokenizer"]!["pretokenizers"]!.AsArray().Add(new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["String"] = " " }, ["behavior"] = "Isolated" }));
        Assert.Equal("$.pre_tokenizer.pretokenizers[1].type", e.JsonPath);
    }

    [Fact]
    public void Malformed_values_are_refused_naming_the_json_path()
    {
        Assert.Equal("$.model.vocab[\"a\"]", LoadError(j => j["model"]!["vocab"]!["a"] = -1).JsonPath);
        Assert.Equal("$.model.vocab[\"a\"]", LoadError(j => j["model"]!["vocab"]!["a"] = 2_000_000_000).JsonPath);
        Assert.Equal("$.model.vocab[\"a\"]", LoadError(j => j["model"]!["vocab"]!["a"] = "97").JsonPath);
        Assert.Equal("$.model.merges[0]", LoadError(j => j["model"]!["merges"]![0] = "l zz").JsonPath);
        Assert.Equal("$.model.merges[1]", LoadError(j => j["model"]!["merges"]![1] = "he").JsonPath);
        Assert.Equal("$.model.merges[2]", LoadError(j => j["model"]!["merges"]![2] = new JsonArray("he", "ll", "o")).JsonPath);
        Assert.Equal("$.model.ignore_merges", LoadError(j => j["model"]!["ignore_merges"] = "yes").JsonPath);
        Assert.Equal("$.model.vocab", LoadError(j => j["model"]!.AsObject().Remove("vocab")).JsonPath);
        Assert.Equal("$.added_tokens[0].content", LoadError(j => j["added_tokens"]![0]!["content"] = "").JsonPath);
        Assert.Equal("$.added_tokens[1].id", LoadError(j => j["added_tokens"]![1]!["id"] = 1.5).JsonPath);
        Assert.Equal("$.pre_tokenizer.pretokenizers[0].behavior", LoadError(j => j["pre_tokenizer"]!["pretokenizers"]![0]!["behavior"] = "Sideways").JsonPath);
        Assert.Equal("$.pre_tokenizer.pretokenizers[0].pattern.Regex", LoadError(j => j["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"]!["Regex"] = "a++").JsonPath);
        Assert.Equal("$.post_processor.single[0].SpecialToken.id", LoadError(j => j["post_processor"]!["single"]![0]!["SpecialToken"]!["id"] = "<|nope|>").JsonPath);
        Assert.Equal("$.model", LoadError(j => j["model"] = "BPE").JsonPath);
    }

    [Fact]
    public void Config_errors_name_the_config_file()
    {
        var e = LoadError(_ => { }, """{"eos_token": "<|nope|>"}""");
        Assert.Equal(("tokenizer_config.json", "$.eos_token"), (e.FilePath, e.JsonPath));
        e = LoadError(_ => { }, """{"bos_token": "<|bos|>"}""");
        Assert.Equal("$.eos_token", e.JsonPath); // no EOS anywhere
        Assert.Equal("$.pad_token", LoadError(_ => { }, """{"eos_token": "<|eos|>", "pad_token": 5}""").JsonPath);
        var json = Encoding.UTF8.GetBytes(ByteLevelTokenizer().ToJsonString());
        Assert.Equal(264, HfTokenizer.FromJson(json, null, eosToken: "<|eos|>").EosId);
        Assert.Equal("$.eos_token", Assert.Throws<TokenizerFileException>(() => HfTokenizer.FromJson(json)).JsonPath);
    }

    [Fact]
    public void Not_json_too_deep_or_not_an_object_is_refused()
    {
        byte[] config = Encoding.UTF8.GetBytes(Config);
        Assert.Contains("not valid JSON", Assert.Throws<TokenizerFileException>(() => HfTokenizer.FromJson(Encoding.UTF8.GetBytes("{\"model\": "), config)).Message);
        string deep = new string('[', 200) + new string(']', 200);
        Assert.Throws<TokenizerFileException>(() => HfTokenizer.FromJson(Encoding.UTF8.GetBytes("{\"model\": " + deep + "}"), config));
        Assert.Equal("$", Assert.Throws<TokenizerFileException>(() => HfTokenizer.FromJson(Encoding.UTF8.GetBytes("[1, 2]"), config)).JsonPath);
        Assert.Equal("tokenizer_config.json", Assert.Throws<TokenizerFileException>(() =>
            HfTokenizer.FromJson(Encoding.UTF8.GetBytes(ByteLevelTokenizer().ToJsonString()), Encoding.UTF8.GetBytes("\"text\""))).FilePath);
        // Random bytes: a clear error, never a crash.
        var rng = new Random(3);
        for (int k = 0; k < 50; k++)
        {
            var bytes = new byte[rng.Next(1, 200)];
            rng.NextBytes(bytes);
            Assert.Throws<TokenizerFileException>(() => HfTokenizer.FromJson(bytes, config));
        }
    }

    // ---- Real files: special tokens and the prompt encoder. ----

    [Fact]
    public void Qwen3_special_tokens_and_ids()
    {
        var tok = HfTokenizerParityTests.Qwen3Tokenizer;
        Assert.Equal((151669, (int?)null, 151645, 151643), (tok.VocabSize, tok.BosId, tok.EosId, tok.PadId));
        var ids = tok.Encode("<|im_start|>user\nhi<|im_end|>");
        Assert.Equal(151644, ids[0]);
        Assert.Equal(151645, ids[^1]);
        Assert.Equal(ids, tok.Encode("<|im_start|>user\nhi<|im_end|>", addSpecialTokens: true)); // Qwen adds nothing
        Assert.Equal("user\nhi", tok.Decode(ids, skipSpecialTokens: true));
        // <think> is an added token but not special: kept when special tokens are skipped.
        var think = tok.Encode("<think>x</think>");
        Assert.Equal(3, think.Count);
        Assert.Equal("<think>x</think>", tok.Decode(think, skipSpecialTokens: true));
        Assert.False(tok.IsSpecial(think[0]));
        Assert.True(tok.IsSpecial(151644));
    }

    [SkippableFact]
    public void Llama31_adds_begin_of_text_when_special_tokens_are_requested()
    {
        var tok = HfTokenizerParityTests.Llama31Tokenizer;
        Assert.Equal((128256, 128000, 128009, 128009), (tok.VocabSize, tok.BosId!.Value, tok.EosId, tok.PadId));
        Assert.Equal(new int[] { 128000, 9906 }, tok.Encode("Hello", addSpecialTokens: true));
        Assert.Equal(new int[] { 9906 }, tok.Encode("Hello"));
    }

    [Fact]
    public void Prompt_response_encoder_on_qwen3_starts_the_response_after_the_assistant_header()
    {
        var tok = HfTokenizerParityTests.Qwen3Tokenizer;
        var s = new PromptResponseEncoder(tok, PromptTemplate.ChatMl, addBos: true, addEos: false).Encode("Hi there", "Hello! How can I help?");
        Assert.Equal(0, s.LeadingSpecialTokens); // no BOS for Qwen
        Assert.Equal("<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n", tok.Decode(s.Ids[..s.ResponseStart]));
        Assert.Equal("Hello! How can I help?<|im_end|>", tok.Decode(s.Ids[s.ResponseStart..]));
        Assert.Equal(151645, s.Ids[^1]);
    }
}
