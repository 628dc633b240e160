using System.Text.Json.Nodes;
using TorchSharp;
using U2A.Core.Models.Checkpoints;
using U2A.Core.Models.Gpt2;
using U2A.Core.Models.Llama;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.ModelTestKit;

namespace U2A.Core.Tests.Models.Checkpoints;

/// <summary>Hugging Face checkpoint layout: config.json parsing, safetensors round trips, single-file and sharded loading
/// of files laid out exactly as Hugging Face writes them, bf16, and errors that name the offending key or field.</summary>
public class HfCheckpointTests
{
    private static readonly long[][] Rows = { new long[] { 3, 14, 15, 9, 26, 5 }, new long[] { 7, 1, 8 } };

    private static Tensor Logits(IHfCheckpointModel model)
    {
        var (ids, mask) = RightPad(Rows);
        return model.Forward(ids.to(model.Device), mask.to(model.Device));
    }

    public static TheoryData<string> Architectures => new() { "gpt2", "llama", "qwen2" };

    private static IHfModelConfig Config(string arch) => arch switch
    {
        "gpt2" => TinyGpt2,
        "llama" => TinyLlama with { RopeScaling = new RopeScaling("llama3", 8, OriginalMaxPositionEmbeddings: 16) },
        _ => TinyQwen2,
    };

    [Theory]
    [MemberData(nameof(Architectures))]
    public void Save_then_load_gives_identical_logits_and_config(string arch)
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDir();
        using var model = CausalLMLoader.Create(Config(arch), seed: 5);
        CausalLMLoader.SavePretrained(model, dir.Path);
        Assert.True(File.Exists(Path.Combine(dir.Path, "config.json")));
        using var loaded = CausalLMLoader.FromPretrained(dir.Path);
        Assert.Equal(model.Config, loaded.Config);
        Assert.Equal(0.0, MaxAbsDiff(Logits(model), Logits(loaded)));
        Assert.Equal(model.TrainableParameters.Count, loaded.TrainableParameters.Count);
        Assert.All(loaded.TrainableParameters, p => Assert.True(p.requires_grad));
    }

    [Fact]
    public void Sharded_save_writes_an_index_and_loads_identically()
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDir();
        using var model = new LlamaLM(TinyLlama, seed: 6);
        CausalLMLoader.SavePretrained(model, dir.Path, maxShardBytes: 8_000);
        var shards = Directory.GetFiles(dir.Path, "model-*-of-*.safetensors");
        Assert.True(shards.Length > 1);
        Assert.False(File.Exists(Path.Combine(dir.Path, HfCheckpoint.SingleFileName)));
        using var loaded = CausalLMLoader.FromPretrained(dir.Path);
        Assert.Equal(0.0, MaxAbsDiff(Logits(model), Logits(loaded)));
    }

    /// <summary>The tensors of a GPT-2 checkpoint as Hugging Face names and shapes them (Conv1D weights [in, out]),
    /// drawn independently of the model code.</summary>
    private static Dictionary<string, Tensor> HfGpt2Tensors(Gpt2Config c, Generator gen, bool prefix, bool withBuffers)
    {
        int e = c.NEmbd, inner = c.InnerWidth, n = c.NPositions;
        string p = prefix ? "transformer." : "";
        Tensor R(params long[] shape) => randn(shape, generator: gen).mul_(0.2);
        var t = new Dictionary<string, Tensor> { [p + "wte.weight"] = R(c.VocabSize, e), [p + "wpe.weight"] = R(n, e), [p + "ln_f.weight"] = 1 + R(e), [p + "ln_f.bias"] = R(e) };
        for (int i = 0; i < c.NLayer; i++)
        {
            string h = $"{p}h.{i}.";
            t[h + "ln_1.weight"] = 1 + R(e); t[h + "ln_1.bias"] = R(e);
            t[h + "attn.c_attn.weight"] = R(e, 3 * e); t[h + "attn.c_attn.bias"] = R(3 * e);
            t[h + "attn.c_proj.weight"] = R(e, e); t[h + "attn.c_proj.bias"] = R(e);
            t[h + "ln_2.weight"] = 1 + R(e); t[h + "ln_2.bias"] = R(e);
            t[h + "mlp.c_fc.weight"] = R(e, inner); t[h + "mlp.c_fc.bias"] = R(inner);
            t[h + "mlp.c_proj.weight"] = R(inner, e); t[h + "mlp.c_proj.bias"] = R(e);
            if (withBuffers)
            {
                t[h + "attn.bias"] = ones(n, n).tril().view(1, 1, n, n);
                t[h + "attn.masked_bias"] = tensor(-1e4f);
            }
        }
        if (withBuffers) t["lm_head.weight"] = t[p + "wte.weight"];
        return t;
    }

    private static Dictionary<string, Tensor> HfLlamaTensors(LlamaConfig c, Generator gen)
    {
        int e = c.HiddenSize, q = c.NumAttentionHeads * c.HeadDimension, kv = c.NumKeyValueHeads * c.HeadDimension, f = c.IntermediateSize;
        Tensor R(params long[] shape) => randn(shape, generator: gen).mul_(0.2);
        var t = new Dictionary<string, Tensor> { ["model.embed_tokens.weight"] = R(c.VocabSize, e), ["model.norm.weight"] = 1 + R(e) };
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            string l = $"model.layers.{i}.";
            t[l + "input_layernorm.weight"] = 1 + R(e);
            t[l + "self_attn.q_proj.weight"] = R(q, e); t[l + "self_attn.k_proj.weight"] = R(kv, e);
            t[l + "self_attn.v_proj.weight"] = R(kv, e); t[l + "self_attn.o_proj.weight"] = R(e, q);
            if (c.QkvBias) { t[l + "self_attn.q_proj.bias"] = R(q); t[l + "self_attn.k_proj.bias"] = R(kv); t[l + "self_attn.v_proj.bias"] = R(kv); }
            t[l + "post_attention_layernorm.weight"] = 1 + R(e);
            t[l + "mlp.gate_proj.weight"] = R(f, e); t[l + "mlp.up_proj.weight"] = R(f, e); t[l + "mlp.down_proj.weight"] = R(e, f);
        }
        if (!c.TieWordEmbeddings) t["lm_head.weight"] = R(c.VocabSize, e);
        return t;
    }

    private static void WriteConfig(string dir, JsonObject config) => File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());

    private static JsonObject HfGpt2ConfigJson(Gpt2Config c) => new()
    {
        ["activation_function"] = "gelu_new", ["architectures"] = new JsonArray("GPT2LMHeadModel"), ["attn_pdrop"] = 0.1, ["bos_token_id"] = 0,
        ["embd_pdrop"] = 0.1, ["eos_token_id"] = 0, ["initializer_range"] = 0.02, ["layer_norm_epsilon"] = 1e-05, ["model_type"] = "gpt2",
        ["n_ctx"] = c.NPositions, ["n_embd"] = c.NEmbd, ["n_head"] = c.NHead, ["n_inner"] = null, ["n_layer"] = c.NLayer, ["n_positions"] = c.NPositions,
        ["reorder_and_upcast_attn"] = false, ["resid_pdrop"] = 0.1, ["scale_attn_by_inverse_layer_idx"] = false, ["scale_attn_weights"] = true,
        ["summary_activation"] = null, ["summary_type"] = "cls_index", ["torch_dtype"] = "float32", ["transformers_version"] = "4.44.0",
        ["use_cache"] = true, ["vocab_size"] = c.VocabSize,
    };

    private static JsonObject HfLlamaConfigJson(LlamaConfig c) => new()
    {
        ["architectures"] = new JsonArray(c.ModelType == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"), ["attention_bias"] = false,
        ["attention_dropout"] = 0.0, ["bos_token_id"] = 1, ["eos_token_id"] = 2, ["hidden_act"] = "silu", ["hidden_size"] = c.HiddenSize,
        ["initializer_range"] = 0.02, ["intermediate_size"] = c.IntermediateSize, ["max_position_embeddings"] = c.MaxPositionEmbeddings,
        ["model_type"] = c.ModelType, ["num_attention_heads"] = c.NumAttentionHeads, ["num_hidden_layers"] = c.NumHiddenLayers,
        ["num_key_value_heads"] = c.NumKeyValueHeads, ["pretraining_tp"] = 1, ["rms_norm_eps"] = c.RmsNormEps, ["rope_scaling"] = null,
        ["rope_theta"] = c.RopeTheta, ["tie_word_embeddings"] = c.TieWordEmbeddings, ["torch_dtype"] = "bfloat16",
        ["transformers_version"] = "4.44.0", ["use_cache"] = true, ["vocab_size"] = c.VocabSize,
    };

    /// <summary>Every tensor the model saves equals the one written in Hugging Face layout (Conv1D transposes undone twice).</summary>
    private static void AssertSavesBack(IHfCheckpointModel model, IReadOnlyDictionary<string, Tensor> written, Func<string, string> canonical)
    {
        using var dir = new TempDir();
        CausalLMLoader.SavePretrained(model, dir.Path);
        var saved = SafetensorsFile.Load(Path.Combine(dir.Path, HfCheckpoint.SingleFileName));
        var expected = written.Where(kv => model.MapCheckpointKey(kv.Key) is not null).ToDictionary(kv => canonical(kv.Key), kv => kv.Value);
        Assert.Equal(expected.Keys.Order(), saved.Keys.Order());
        foreach (var (name, t) in expected)
        {
            Assert.Equal(t.shape, saved[name].shape);
            Assert.True(MaxAbsDiff(t, saved[name]) == 0, name);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Loads_a_gpt2_checkpoint_laid_out_as_hugging_face_writes_it(bool transformerPrefix)
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDir();
        var c = TinyGpt2;
        var written = HfGpt2Tensors(c, new Generator(11), transformerPrefix, withBuffers: true);
        WriteConfig(dir.Path, HfGpt2ConfigJson(c));
        SafetensorsFile.Save(Path.Combine(dir.Path, "model.safetensors"), written, new Dictionary<string, string> { ["format"] = "pt" });
        using var model = (Gpt2LM)CausalLMLoader.FromPretrained(dir.Path);
        Assert.Equal(c with { InitializerRange = 0.02 }, model.Config);
        string p = transformerPrefix ? "transformer." : "";
        var cAttn = model.HfTensors.Single(b => b.Name == "transformer.h.1.attn.c_attn.weight");
        Assert.True(cAttn.Transposed);
        Assert.Equal(new long[] { 3 * c.NEmbd, c.NEmbd }, cAttn.Parameter.shape); // nn.Linear layout [out, in]
        Assert.Equal(0.0, MaxAbsDiff(cAttn.Parameter, written[p + "h.1.attn.c_attn.weight"].t()));
        AssertSavesBack(model, written, k => k.StartsWith("transformer.") ? k : "transformer." + k);
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("qwen2")]
    public void Loads_llama_and_qwen2_checkpoints_laid_out_as_hugging_face_writes_them(string arch)
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDir();
        var c = arch == "llama" ? TinyLlama : TinyQwen2;
        var written = HfLlamaTensors(c, new Generator(12));
        WriteConfig(dir.Path, HfLlamaConfigJson(c));
        SafetensorsFile.Save(Path.Combine(dir.Path, "model.safetensors"), written);
        using var model = (LlamaLM)CausalLMLoader.FromPretrained(dir.Path);
        Assert.Equal(c with { InitializerRange = 0.02 }, model.Config);
        AssertSavesBack(model, written, k => k);
    }

    [Fact]
    public void Sharded_checkpoint_with_hugging_face_index_loads_like_the_single_file()
    {
        using var scope = NewDisposeScope();
        using var single = new TempDir();
        using var sharded = new TempDir();
        var c = TinyLlama;
        var written = HfLlamaTensors(c, new Generator(13));
        foreach (var d in new[] { single.Path, sharded.Path }) WriteConfig(d, HfLlamaConfigJson(c));
        SafetensorsFile.Save(Path.Combine(single.Path, "model.safetensors"), written);
        // Hugging Face's sharding: layer 0 and the embedding in shard 1, the rest in shard 2, and an index naming each tensor's file.
        var map = new JsonObject();
        var parts = written.GroupBy(kv => kv.Key.StartsWith("model.layers.0.") || kv.Key.StartsWith("model.embed") ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
        foreach (var part in parts)
        {
            SafetensorsFile.Save(Path.Combine(sharded.Path, part.Key), part.ToDictionary(kv => kv.Key, kv => kv.Value), new Dictionary<string, string> { ["format"] = "pt" });
            foreach (var kv in part) map[kv.Key] = part.Key;
        }
        File.WriteAllText(Path.Combine(sharded.Path, HfCheckpoint.IndexFileName),
            new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = written.Values.Sum(t => t.numel() * 4) }, ["weight_map"] = map }.ToJsonString());
        using var a = CausalLMLoader.FromPretrained(single.Path);
        using var b = CausalLMLoader.FromPretrained(sharded.Path);
        Assert.Equal(0.0, MaxAbsDiff(Logits(a), Logits(b)));

        // A shard that the index names but that is missing is an error naming the shard.
        File.Delete(Path.Combine(sharded.Path, "model-00002-of-00002.safetensors"));
        var e = Assert.Throws<FileNotFoundException>(() => CausalLMLoader.FromPretrained(sharded.Path));
        Assert.Contains("model-00002-of-00002.safetensors", e.Message);
    }

    [Fact]
    public void Unknown_missing_and_misshapen_tensors_are_errors_naming_the_key()
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDir();
        var c = TinyLlama;
        WriteConfig(dir.Path, HfLlamaConfigJson(c));
        string file = Path.Combine(dir.Path, "model.safetensors");
        InvalidDataException Load(Dictionary<string, Tensor> t)
        {
            SafetensorsFile.Save(file, t);
            return Assert.Throws<InvalidDataException>(() => CausalLMLoader.FromPretrained(dir.Path));
        }

        var extra = HfLlamaTensors(c, new Generator(1));
        extra["model.layers.0.self_attn.extra.weight"] = zeros(2);
        Assert.Contains("'model.layers.0.self_attn.extra.weight'", Load(extra).Message);

        var missing = HfLlamaTensors(c, new Generator(1));
        missing.Remove("model.layers.1.mlp.up_proj.weight");
        Assert.Contains("'model.layers.1.mlp.up_proj.weight'", Load(missing).Message);

        var misshapen = HfLlamaTensors(c, new Generator(1));
        misshapen["model.layers.1.self_attn.k_proj.weight"] = zeros(c.HiddenSize, c.HiddenSize); // as if num_key_value_heads were 4
        var err = Load(misshapen);
        Assert.Contains("'model.layers.1.self_attn.k_proj.weight'", err.Message);
        Assert.Contains("expected [8, 16]", err.Message);

        // A Conv1D weight stored [out, in] (not transposed) is a shape error for GPT-2.
        using var gdir = new TempDir();
        var g = HfGpt2Tensors(TinyGpt2, new Generator(2), prefix: true, withBuffers: false);
        g["transformer.h.0.mlp.c_fc.weight"] = g["transformer.h.0.mlp.c_fc.weight"].t().contiguous();
        WriteConfig(gdir.Path, HfGpt2ConfigJson(TinyGpt2));
        SafetensorsFile.Save(Path.Combine(gdir.Path, "model.safetensors"), g);
        Assert.Contains("'transformer.h.0.mlp.c_fc.weight'", Assert.Throws<InvalidDataException>(() => CausalLMLoader.FromPretrained(gdir.Path)).Message);
    }

    [Theory]
    [InlineData("{\"model_type\": \"llama\", \"hidden_size\": 16, \"num_attention_heads\": 4}", "'vocab_size'")]
    [InlineData("{\"model_type\": \"mistral\"}", "'model_type'")]
    [InlineData("{\"vocab_size\": 5}", "'model_type'")]
    [InlineData("{\"model_type\": \"gpt2\", \"vocab_size\": 50, \"n_embd\": \"16\", \"n_layer\": 1, \"n_head\": 2}", "'n_embd'")]
    [InlineData("{\"model_type\": \"gpt2\", \"vocab_size\": 50, \"n_embd\": 15, \"n_layer\": 1, \"n_head\": 2}", "'n_embd'")]
    [InlineData("{\"model_type\": \"llama\", \"vocab_size\": 50, \"hidden_size\": 16, \"intermediate_size\": 8, \"num_hidden_layers\": 1, \"num_attention_heads\": 4, \"num_key_value_heads\": 3}", "'num_key_value_heads'")]
    [InlineData("{\"model_type\": \"llama\", \"vocab_size\": 50, \"hidden_size\": 16, \"intermediate_size\": 8, \"num_hidden_layers\": 1, \"num_attention_heads\": 4, \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}}", "'rope_scaling.rope_type'")]
    public void Config_errors_name_the_file_and_field(string json, string field)
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "config.json");
        File.WriteAllText(path, json);
        var e = Assert.ThrowsAny<Exception>(() => HfConfig.Read(dir.Path));
        Assert.True(e is InvalidDataException or NotSupportedException, e.GetType().Name);
        Assert.Contains(path, e.Message);
        Assert.Contains(field, e.Message);
    }

    [Fact]
    public void Config_reads_qwen2_biases_llama_attention_bias_and_tinyllama_gqa()
    {
        using var dir = new TempDir();
        LlamaConfig Read(string json)
        {
            File.WriteAllText(Path.Combine(dir.Path, "config.json"), json);
            return (LlamaConfig)HfConfig.Read(dir.Path);
        }
        const string Common = "\"vocab_size\": 32000, \"hidden_size\": 2048, \"intermediate_size\": 5632, \"num_hidden_layers\": 22, \"num_attention_heads\": 32";
        var tiny = Read("{\"model_type\": \"llama\", " + Common + ", \"num_key_value_heads\": 4, \"rms_norm_eps\": 1e-05, \"rope_theta\": 10000.0, \"tie_word_embeddings\": false}");
        Assert.Equal((4, 64, false, false, false), (tiny.NumKeyValueHeads, tiny.HeadDimension, tiny.QkvBias, tiny.OutputBias, tiny.TieWordEmbeddings));
        var qwen = Read("{\"model_type\": \"qwen2\", " + Common + ", \"num_key_value_heads\": 2, \"tie_word_embeddings\": true, \"rope_theta\": 1000000.0}");
        Assert.Equal((true, false, true, 1e6), (qwen.QkvBias, qwen.OutputBias, qwen.TieWordEmbeddings, qwen.RopeTheta));
        var biased = Read("{\"model_type\": \"llama\", " + Common + ", \"attention_bias\": true}");
        Assert.Equal((true, true, 32), (biased.QkvBias, biased.OutputBias, biased.NumKeyValueHeads));
        var llama31 = Read("{\"model_type\": \"llama\", " + Common + ", \"rope_scaling\": {\"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192, \"rope_type\": \"llama3\"}}");
        Assert.Equal(new RopeScaling("llama3", 8, 1, 4, 8192), llama31.RopeScaling);
        // Round trip through ToHfJson.
        File.WriteAllText(Path.Combine(dir.Path, "config.json"), llama31.ToHfJson().ToJsonString());
        Assert.Equal(llama31, HfConfig.Read(dir.Path));
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void Bf16_checkpoint_loads_in_float32_and_bfloat16_with_logits_close_to_float32(string arch)
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDir();
        using var model = CausalLMLoader.Create(Config(arch), seed: 8);
        CausalLMLoader.SavePretrained(model, dir.Path, dtype: ScalarType.BFloat16);
        var (entries, _, _) = SafetensorsFile.ReadHeader(Path.Combine(dir.Path, HfCheckpoint.SingleFileName));
        Assert.All(entries, e => Assert.Equal("BF16", e.DType));
        var reference = Logits(model);
        double scale = reference.abs().max().item<float>();

        using var asFloat = CausalLMLoader.FromPretrained(dir.Path);
        Assert.Equal(ScalarType.Float32, asFloat.DType);
        double errFloat = MaxAbsDiff(Logits(asFloat), reference) / scale;
        using var asBf16 = CausalLMLoader.FromPretrained(dir.Path, dtype: ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, asBf16.DType);
        var bfLogits = Logits(asBf16);
        Assert.Equal(ScalarType.BFloat16, bfLogits.dtype);
        double errBf16 = MaxAbsDiff(bfLogits, reference) / scale;
        Assert.True(errFloat > 0 && errFloat < 0.03, $"bf16 weights in float32: relative error {errFloat:E2}");
        Assert.True(errBf16 < 0.06, $"bf16 model: relative error {errBf16:E2}");
    }
    [Theory]
    [InlineData(ScalarType.Int32)] // the same four bytes per element as float32: a relabelled file would load silently
    [InlineData(ScalarType.Int16)]
    [InlineData(ScalarType.Byte)]
    [InlineData(ScalarType.Bool)]
    [InlineData(ScalarType.Int64)]
    public void Integer_or_boolean_tensors_never_load_into_floating_point_parameters(ScalarType stored)
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDir();
        var c = TinyLlama;
        WriteConfig(dir.Path, HfLlamaConfigJson(c));
        var tensors = HfLlamaTensors(c, new Generator(21));
        const string Name = "model.layers.1.self_attn.v_proj.weight";
        tensors[Name] = stored == ScalarType.Bool ? tensors[Name].gt(0) : tensors[Name].mul(100).to_type(stored);
        string file = Path.Combine(dir.Path, HfCheckpoint.SingleFileName);
        SafetensorsFile.Save(file, tensors);
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            var e = Assert.Throws<InvalidDataException>(() => CausalLMLoader.FromPretrained(dir.Path, dtype: dtype));
            foreach (var part in new[] { file, $"'{Name}'", SafetensorsFile.ReadHeader(file).Entries.Single(x => x.Name == Name).DType, dtype.ToString() })
                Assert.Contains(part, e.Message);
        }
    }

    [Theory]
    [InlineData(ScalarType.Float64, ScalarType.Float32, 0.0)] // float32 -> float64 -> float32 is exact
    [InlineData(ScalarType.Float16, ScalarType.Float32, 0.01)]
    [InlineData(ScalarType.Float32, ScalarType.BFloat16, 0.06)]
    [InlineData(ScalarType.Float64, ScalarType.BFloat16, 0.06)]
    public void Every_floating_point_dtype_loads_into_floating_point_parameters(ScalarType stored, ScalarType model, double tolerance)
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDir();
        using var source = new LlamaLM(TinyLlama, seed: 22);
        CausalLMLoader.SavePretrained(source, dir.Path, dtype: stored);
        using var loaded = CausalLMLoader.FromPretrained(dir.Path, dtype: model);
        Assert.Equal(model, loaded.DType);
        var reference = Logits(source);
        double err = MaxAbsDiff(Logits(loaded), reference) / reference.abs().max().item<float>();
        Assert.True(err <= tolerance, $"{stored} into {model}: relative error {err:E2}");
    }

    [Theory]
    [InlineData("{\"model_type\": \"llama\", \"model_type\": \"gpt2\"}", "key 'model_type' appears twice in $")]
    [InlineData("{\"model_type\": \"\\ud800\"}", "$.model_type")]
    [InlineData("{\"\\udc00\": 1, \"model_type\": \"llama\"}", "key number 1 of $ is not valid text")]
    public void Config_with_duplicate_keys_or_unreadable_strings_is_an_InvalidDataException_naming_the_file(string json, string fragment)
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "config.json");
        File.WriteAllText(path, json);
        var e = Assert.Throws<InvalidDataException>(() => HfConfig.Read(dir.Path));
        Assert.Contains(path, e.Message);
        Assert.Contains(fragment, e.Message);
    }

    [Fact]
    public void Index_with_duplicate_keys_is_an_InvalidDataException_naming_the_index()
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDir();
        using var model = new LlamaLM(TinyLlama, seed: 23);
        CausalLMLoader.SavePretrained(model, dir.Path, maxShardBytes: 8_000);
        string index = Path.Combine(dir.Path, HfCheckpoint.IndexFileName);
        string text = File.ReadAllText(index);
        string forged = text.Replace("\"weight_map\": {", "\"weight_map\": {\n    \"model.norm.weight\": \"model-00001-of-00002.safetensors\",");
        Assert.NotEqual(text, forged);
        File.WriteAllText(index, forged);
        var e = Assert.Throws<InvalidDataException>(() => CausalLMLoader.FromPretrained(dir.Path));
        Assert.Contains(index, e.Message);
        Assert.Contains("key 'model.norm.weight' appears twice in $.weight_map", e.Message);
    }
}
