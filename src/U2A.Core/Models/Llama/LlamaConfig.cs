using System.Text.Json.Nodes;
using U2A.Core.Models.Checkpoints;

namespace U2A.Core.Models.Llama;

/// <summary>
/// Hyper-parameters of the Llama family (Llama 2/3, TinyLlama, Qwen2), named as in Hugging Face's <c>LlamaConfig</c>.
/// Llama's <c>attention_bias</c> puts biases on q, k, v and o; Qwen2 always has biases on q, k, v and none on o.
/// </summary>
/// <param name="VocabSize"><c>vocab_size</c>.</param>
/// <param name="HiddenSize"><c>hidden_size</c>.</param>
/// <param name="IntermediateSize">SwiGLU hidden width, <c>intermediate_size</c>.</param>
/// <param name="NumHiddenLayers"><c>num_hidden_layers</c>.</param>
/// <param name="NumAttentionHeads"><c>num_attention_heads</c>.</param>
/// <param name="NumKeyValueHeads"><c>num_key_value_heads</c> (grouped-query attention when smaller than the query heads).</param>
/// <param name="MaxPositionEmbeddings"><c>max_position_embeddings</c> (informative: rotary positions have no table).</param>
/// <param name="RmsNormEps"><c>rms_norm_eps</c>.</param>
/// <param name="RopeTheta"><c>rope_theta</c>.</param>
/// <param name="TieWordEmbeddings"><c>tie_word_embeddings</c>: lm_head shares embed_tokens' weight.</param>
/// <param name="QkvBias">Biases on q_proj, k_proj, v_proj.</param>
/// <param name="OutputBias">Bias on o_proj.</param>
/// <param name="HeadDim"><c>head_dim</c>; null means hidden_size / num_attention_heads.</param>
/// <param name="RopeScaling"><c>rope_scaling</c>, or null.</param>
/// <param name="ModelType"><c>llama</c> or <c>qwen2</c>.</param>
/// <param name="InitializerRange"><c>initializer_range</c>, the standard deviation of the random initialisation.</param>
public sealed record LlamaConfig(int VocabSize, int HiddenSize, int IntermediateSize, int NumHiddenLayers, int NumAttentionHeads, int NumKeyValueHeads,
    int MaxPositionEmbeddings = 2048, double RmsNormEps = 1e-6, double RopeTheta = 10000, bool TieWordEmbeddings = false,
    bool QkvBias = false, bool OutputBias = false, int? HeadDim = null, RopeScaling? RopeScaling = null, string ModelType = "llama",
    double InitializerRange = 0.02) : IHfModelConfig
{
    /// <summary>Width of one attention head.</summary>
    public int HeadDimension => HeadDim ?? HiddenSize / NumAttentionHeads;

    /// <summary>A Qwen2 configuration (biases on q, k, v).</summary>
    public static LlamaConfig Qwen2(int vocabSize, int hiddenSize, int intermediateSize, int numHiddenLayers, int numAttentionHeads, int numKeyValueHeads,
        double ropeTheta = 1000000, bool tieWordEmbeddings = false, double rmsNormEps = 1e-6, int maxPositionEmbeddings = 32768, double initializerRange = 0.02) =>
        new(vocabSize, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads, maxPositionEmbeddings, rmsNormEps, ropeTheta,
            tieWordEmbeddings, QkvBias: true, OutputBias: false, ModelType: "qwen2", InitializerRange: initializerRange);

    /// <summary>Throws when the hyper-parameters are inconsistent.</summary>
    public void Validate(string source = "LlamaConfig")
    {
        foreach (var (name, value) in new[] { ("vocab_size", VocabSize), ("hidden_size", HiddenSize), ("intermediate_size", IntermediateSize),
                     ("num_hidden_layers", NumHiddenLayers), ("num_attention_heads", NumAttentionHeads), ("num_key_value_heads", NumKeyValueHeads),
                     ("max_position_embeddings", MaxPositionEmbeddings), ("head_dim", HeadDimension) })
            if (value < 1) throw new ArgumentException($"{source}: field '{name}' must be positive, got {value}.");
        if (HeadDim is null && HiddenSize % NumAttentionHeads != 0)
            throw new ArgumentException($"{source}: field 'hidden_size' ({HiddenSize}) must be divisible by 'num_attention_heads' ({NumAttentionHeads}).");
        if (HeadDimension % 2 != 0) throw new ArgumentException($"{source}: the head width ({HeadDimension}) must be even for rotary embeddings.");
        if (NumAttentionHeads % NumKeyValueHeads != 0)
            throw new ArgumentException($"{source}: field 'num_attention_heads' ({NumAttentionHeads}) must be a multiple of 'num_key_value_heads' ({NumKeyValueHeads}).");
        if (!(RmsNormEps > 0) || !(RopeTheta > 0)) throw new ArgumentException($"{source}: fields 'rms_norm_eps' and 'rope_theta' must be positive.");
        if (ModelType == "qwen2" && (!QkvBias || OutputBias))
            throw new ArgumentException($"{source}: model_type qwen2 has biases on q, k, v and none on o (QkvBias true, OutputBias false).");
        if (ModelType == "llama" && QkvBias != OutputBias)
            throw new ArgumentException($"{source}: model_type llama's attention_bias puts biases on q, k, v and o alike (QkvBias == OutputBias).");
        if (ModelType is not ("llama" or "qwen2")) throw new ArgumentException($"{source}: field 'model_type' must be llama or qwen2, got '{ModelType}'.");
        if (RopeScaling is { } r)
        {
            if (r.RopeType is not ("linear" or "llama3")) throw new ArgumentException($"{source}: field 'rope_scaling.rope_type' '{r.RopeType}' is not supported (linear, llama3).");
            if (!(r.Factor > 0)) throw new ArgumentException($"{source}: field 'rope_scaling.factor' must be positive.");
            if (r.RopeType == "llama3" && !(r.HighFreqFactor > r.LowFreqFactor && r.LowFreqFactor > 0 && r.OriginalMaxPositionEmbeddings > 0))
                throw new ArgumentException($"{source}: llama3 rope_scaling needs 0 < low_freq_factor < high_freq_factor and original_max_position_embeddings > 0.");
        }
    }

    /// <summary>Reads a Hugging Face llama or qwen2 <c>config.json</c> object; <paramref name="source"/> names it in errors.</summary>
    public static LlamaConfig FromHfJson(JsonObject json, string source)
    {
        string modelType = HfConfig.RequiredString(json, "model_type", source);
        string act = HfConfig.OptionalString(json, "hidden_act", source) ?? "silu";
        if (act != "silu") throw new NotSupportedException($"{source}: field 'hidden_act' is '{act}'; only silu (SwiGLU) is supported.");
        if (HfConfig.OptionalBool(json, "mlp_bias", source) == true) throw new NotSupportedException($"{source}: field 'mlp_bias' true is not supported.");
        if (HfConfig.OptionalBool(json, "use_sliding_window", source) == true) throw new NotSupportedException($"{source}: field 'use_sliding_window' true is not supported.");
        int heads = HfConfig.RequiredInt(json, "num_attention_heads", source);
        bool qwen2 = modelType == "qwen2";
        bool attentionBias = HfConfig.OptionalBool(json, "attention_bias", source) ?? false;
        var config = new LlamaConfig(
            VocabSize: HfConfig.RequiredInt(json, "vocab_size", source),
            HiddenSize: HfConfig.RequiredInt(json, "hidden_size", source),
            IntermediateSize: HfConfig.RequiredInt(json, "intermediate_size", source),
            NumHiddenLayers: HfConfig.RequiredInt(json, "num_hidden_layers", source),
            NumAttentionHeads: heads,
            NumKeyValueHeads: HfConfig.OptionalInt(json, "num_key_value_heads", source) ?? heads,
            MaxPositionEmbeddings: HfConfig.OptionalInt(json, "max_position_embeddings", source) ?? 2048,
            RmsNormEps: HfConfig.OptionalDouble(json, "rms_norm_eps", source) ?? 1e-6,
            RopeTheta: HfConfig.OptionalDouble(json, "rope_theta", source) ?? 10000,
            TieWordEmbeddings: HfConfig.OptionalBool(json, "tie_word_embeddings", source) ?? false,
            QkvBias: qwen2 || attentionBias,
            OutputBias: !qwen2 && attentionBias,
            HeadDim: HfConfig.OptionalInt(json, "head_dim", source),
            RopeScaling: ReadRopeScaling(json, source),
            ModelType: modelType,
            InitializerRange: HfConfig.OptionalDouble(json, "initializer_range", source) ?? 0.02);
        try { config.Validate(source); }
        catch (ArgumentException e) { throw new InvalidDataException(e.Message, e); }
        return config;
    }

    private static RopeScaling? ReadRopeScaling(JsonObject json, string source)
    {
        if (!json.TryGetPropertyValue("rope_scaling", out var node) || node is null) return null;
        if (node is not JsonObject r) throw new InvalidDataException($"{source}: field 'rope_scaling' must be an object or null.");
        string field = $"rope_scaling";
        string type = HfConfig.OptionalString(r, "rope_type", source) ?? HfConfig.OptionalString(r, "type", source)
            ?? throw new InvalidDataException($"{source}: field 'rope_scaling.rope_type' is missing.");
        if (type == "default") return null;
        if (type is not ("linear" or "llama3")) throw new NotSupportedException($"{source}: field 'rope_scaling.rope_type' is '{type}'; supported: default, linear, llama3.");
        return new RopeScaling(type,
            HfConfig.OptionalDouble(r, "factor", source) ?? throw new InvalidDataException($"{source}: field '{field}.factor' is missing."),
            HfConfig.OptionalDouble(r, "low_freq_factor", source) ?? 1,
            HfConfig.OptionalDouble(r, "high_freq_factor", source) ?? 4,
            HfConfig.OptionalInt(r, "original_max_position_embeddings", source) ?? 8192);
    }

    /// <inheritdoc />
    public JsonObject ToHfJson()
    {
        var json = new JsonObject
        {
            ["architectures"] = new JsonArray(ModelType == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"),
            ["model_type"] = ModelType,
            ["vocab_size"] = VocabSize,
            ["hidden_size"] = HiddenSize,
            ["intermediate_size"] = IntermediateSize,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["num_attention_heads"] = NumAttentionHeads,
            ["num_key_value_heads"] = NumKeyValueHeads,
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["rms_norm_eps"] = RmsNormEps,
            ["rope_theta"] = RopeTheta,
            ["tie_word_embeddings"] = TieWordEmbeddings,
            ["hidden_act"] = "silu",
            ["initializer_range"] = InitializerRange,
        };
        if (ModelType == "llama") json["attention_bias"] = QkvBias;
        if (HeadDim is { } hd) json["head_dim"] = hd;
        if (RopeScaling is { } r)
            json["rope_scaling"] = r.RopeType == "linear"
                ? new JsonObject { ["rope_type"] = "linear", ["factor"] = r.Factor }
                : new JsonObject
                {
                    ["rope_type"] = "llama3", ["factor"] = r.Factor, ["low_freq_factor"] = r.LowFreqFactor,
                    ["high_freq_factor"] = r.HighFreqFactor, ["original_max_position_embeddings"] = r.OriginalMaxPositionEmbeddings,
                };
        return json;
    }
}
