using System.Text.Json.Nodes;
using U2A.Core.Models.Checkpoints;

namespace U2A.Core.Models.Gpt2;

/// <summary>GPT-2 hyper-parameters, named as in Hugging Face's <c>GPT2Config</c>.</summary>
/// <param name="VocabSize">Vocabulary size (<c>vocab_size</c>).</param>
/// <param name="NEmbd">Width (<c>n_embd</c>).</param>
/// <param name="NLayer">Number of blocks (<c>n_layer</c>).</param>
/// <param name="NHead">Attention heads (<c>n_head</c>); must divide <paramref name="NEmbd"/>.</param>
/// <param name="NPositions">Number of learned positions, the longest sequence (<c>n_positions</c>).</param>
/// <param name="LayerNormEpsilon">LayerNorm epsilon (<c>layer_norm_epsilon</c>).</param>
/// <param name="NInner">MLP hidden width (<c>n_inner</c>); null means 4 * n_embd.</param>
/// <param name="InitializerRange">Standard deviation of the random initialisation (<c>initializer_range</c>).</param>
public sealed record Gpt2Config(int VocabSize, int NEmbd, int NLayer, int NHead, int NPositions,
    double LayerNormEpsilon = 1e-5, int? NInner = null, double InitializerRange = 0.02) : IHfModelConfig
{
    /// <inheritdoc />
    public string ModelType => "gpt2";

    /// <summary>The MLP hidden width.</summary>
    public int InnerWidth => NInner ?? 4 * NEmbd;

    /// <summary>Throws when the hyper-parameters are inconsistent.</summary>
    public void Validate(string source = "Gpt2Config")
    {
        foreach (var (name, value) in new[] { ("vocab_size", VocabSize), ("n_embd", NEmbd), ("n_layer", NLayer), ("n_head", NHead), ("n_positions", NPositions), ("n_inner", InnerWidth) })
            if (value < 1) throw new ArgumentException($"{source}: field '{name}' must be positive, got {value}.");
        if (NEmbd % NHead != 0) throw new ArgumentException($"{source}: field 'n_embd' ({NEmbd}) must be divisible by 'n_head' ({NHead}).");
        if (!(LayerNormEpsilon > 0)) throw new ArgumentException($"{source}: field 'layer_norm_epsilon' must be positive.");
    }

    /// <summary>Reads a Hugging Face GPT-2 <c>config.json</c> object; <paramref name="source"/> names it in errors.</summary>
    public static Gpt2Config FromHfJson(JsonObject json, string source)
    {
        string activation = HfConfig.OptionalString(json, "activation_function", source) ?? "gelu_new";
        if (activation is not ("gelu_new" or "gelu_pytorch_tanh"))
            throw new NotSupportedException($"{source}: field 'activation_function' is '{activation}'; only the tanh GELU (gelu_new) is supported.");
        if (HfConfig.OptionalBool(json, "scale_attn_by_inverse_layer_idx", source) == true || HfConfig.OptionalBool(json, "scale_attn_weights", source) == false)
            throw new NotSupportedException($"{source}: fields 'scale_attn_by_inverse_layer_idx' / 'scale_attn_weights' select an attention scaling other than 1/sqrt(head_dim), which is not supported.");
        if (HfConfig.OptionalBool(json, "tie_word_embeddings", source) == false)
            throw new NotSupportedException($"{source}: field 'tie_word_embeddings' is false; GPT-2 here always ties lm_head to wte.");
        var config = new Gpt2Config(
            VocabSize: HfConfig.RequiredInt(json, "vocab_size", source),
            NEmbd: HfConfig.RequiredInt(json, "n_embd", source),
            NLayer: HfConfig.RequiredInt(json, "n_layer", source),
            NHead: HfConfig.RequiredInt(json, "n_head", source),
            NPositions: HfConfig.OptionalInt(json, "n_positions", source) ?? HfConfig.OptionalInt(json, "n_ctx", source) ?? 1024,
            LayerNormEpsilon: HfConfig.OptionalDouble(json, "layer_norm_epsilon", source) ?? 1e-5,
            NInner: HfConfig.OptionalInt(json, "n_inner", source),
            InitializerRange: HfConfig.OptionalDouble(json, "initializer_range", source) ?? 0.02);
        try { config.Validate(source); }
        catch (ArgumentException e) { throw new InvalidDataException(e.Message, e); }
        return config;
    }

    /// <inheritdoc />
    public JsonObject ToHfJson()
    {
        var json = new JsonObject
        {
            ["architectures"] = new JsonArray("GPT2LMHeadModel"),
            ["model_type"] = ModelType,
            ["vocab_size"] = VocabSize,
            ["n_embd"] = NEmbd,
            ["n_layer"] = NLayer,
            ["n_head"] = NHead,
            ["n_positions"] = NPositions,
            ["n_ctx"] = NPositions,
            ["layer_norm_epsilon"] = LayerNormEpsilon,
            ["activation_function"] = "gelu_new",
            ["initializer_range"] = InitializerRange,
            ["tie_word_embeddings"] = true,
        };
        if (NInner is { } inner) json["n_inner"] = inner;
        return json;
    }
}
