using TorchSharp;
using TorchSharp.Modules;
using U2A.Core.Models.Checkpoints;
using U2A.Core.Models.Generation;
using static TorchSharp.torch;

namespace U2A.Core.Models.Llama;

/// <summary>
/// The Llama family (Llama 2/3, TinyLlama, Qwen2) as in Hugging Face's <c>LlamaForCausalLM</c> / <c>Qwen2ForCausalLM</c>:
/// token embedding, pre-norm decoder layers (RMSNorm, grouped-query attention with rotary positions, RMSNorm, SwiGLU MLP),
/// a final RMSNorm and an output head (tied to the embedding or not). The module tree carries Hugging Face's parameter names
/// (<c>model.layers.0.self_attn.q_proj.weight</c>, ..., <c>lm_head.weight</c>).
/// </summary>
/// <remarks>
/// Rotary embeddings use Hugging Face's half-rotation layout (<c>rotate_half</c>), computed in float32 (float64 for a float64
/// model). Attention is explicit matmul-softmax (double backward works). Positions count the real tokens of the attention
/// mask, so left and right padding give the same logits for real tokens. Every parameter is trainable.
/// </remarks>
public sealed class LlamaLM : nn.Module<Tensor, Tensor, Tensor>, ICachedCausalLM, IHfCheckpointModel, IHiddenStateModel, ISelectiveLogitsModel
{
    private readonly LlamaModel model;
    private readonly Linear? lm_head;
    private readonly Parameter[] _trainable;
    private readonly HfTensorBinding[] _hfTensors;

    /// <summary>
    /// Creates the model on <paramref name="device"/> (CPU when null) in <paramref name="dtype"/>. With a seed, weights are drawn
    /// as Hugging Face initialises Llama (normal(0, initializer_range), zero biases, unit RMSNorms) from a CPU generator, so a
    /// seed gives the same model on every device; with a null seed the weights are left at TorchSharp defaults, to be
    /// overwritten by a checkpoint.
    /// </summary>
    public LlamaLM(LlamaConfig config, Device? device = null, ScalarType dtype = ScalarType.Float32, long? seed = 0) : base(nameof(LlamaLM))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        device ??= CPU;
        model = new LlamaModel(config, device, dtype);
        if (!config.TieWordEmbeddings) lm_head = nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false, device: device, dtype: dtype);
        RegisterComponents();
        if (seed is { } s)
        {
            var gen = new Generator((ulong)s);
            model.Initialize(config, gen);
            if (lm_head is not null) Init.Linear(lm_head, config.InitializerRange, gen);
        }
        _trainable = parameters().ToArray();
        _hfTensors = named_parameters().Select(np => new HfTensorBinding(np.name, np.parameter, Transposed: false)).ToArray();
    }

    /// <summary>
    /// The attention kernel: <see cref="Models.AttentionKernel.Auto"/> (the default) uses libtorch's fused kernel on
    /// forward-only passes (gradient recording off) and the explicit one, which supports double backward, otherwise;
    /// <see cref="Models.AttentionKernel.Explicit"/> always uses the explicit one. The two agree to rounding.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to an undefined value.</exception>
    public AttentionKernel AttentionKernel
    {
        get => model.Kernel;
        set
        {
            if (!Enum.IsDefined(value)) throw new ArgumentOutOfRangeException(nameof(AttentionKernel), value, "unknown attention kernel.");
            model.Kernel = value;
        }
    }

    /// <summary>The model's hyper-parameters.</summary>
    public LlamaConfig Config { get; }

    IHfModelConfig IHfCheckpointModel.Config => Config;

    /// <inheritdoc />
    public int VocabularySize => Config.VocabSize;

    /// <inheritdoc />
    public int LayerCount => Config.NumHiddenLayers;

    /// <inheritdoc />
    public IReadOnlyList<Parameter> TrainableParameters => _trainable;

    /// <inheritdoc />
    public Device Device => _trainable[0].device;

    /// <inheritdoc />
    public ScalarType DType => _trainable[0].dtype;

    /// <inheritdoc />
    public IReadOnlyList<HfTensorBinding> HfTensors => _hfTensors;

    /// <inheritdoc />
    public void SetTraining(bool training) => train(training);

    /// <inheritdoc />
    public Tensor Forward(Tensor inputIds, Tensor attentionMask) => Forward(inputIds, attentionMask, null);

    /// <inheritdoc />
    public override Tensor forward(Tensor inputIds, Tensor attentionMask) => Forward(inputIds, attentionMask, null);

    /// <inheritdoc />
    public Tensor Forward(Tensor inputIds, Tensor attentionMask, KvCache? cache)
    {
        ModelInputs.Check(inputIds, attentionMask, cache, LayerCount);
        using var scope = NewDisposeScope();
        var h = model.Forward(inputIds, attentionMask, cache);
        var logits = lm_head is not null ? lm_head.call(h) : h.matmul(model.EmbeddingWeight.t());
        return logits.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public Tensor ForwardAt(Tensor inputIds, Tensor attentionMask, Tensor positions)
    {
        ModelInputs.Check(inputIds, attentionMask, null, LayerCount);
        ModelInputs.CheckPositions(inputIds, positions);
        using var scope = NewDisposeScope();
        var h = model.Forward(inputIds, attentionMask, null);
        h = h.reshape(-1, h.shape[^1]).index_select(0, positions);
        var logits = lm_head is not null ? lm_head.call(h) : h.matmul(model.EmbeddingWeight.t());
        return logits.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public int HiddenSize => Config.HiddenSize;

    /// <inheritdoc />
    public Tensor HiddenStates(Tensor inputIds, Tensor attentionMask)
    {
        ModelInputs.Check(inputIds, attentionMask, null, LayerCount);
        using var scope = NewDisposeScope();
        return model.Forward(inputIds, attentionMask, null).MoveToOuterDisposeScope();
    }

    /// <summary>Skips old checkpoints' <c>rotary_emb.inv_freq</c> buffers and, with tied embeddings, a stored copy of <c>lm_head.weight</c>.</summary>
    public string? MapCheckpointKey(string checkpointKey)
    {
        if (checkpointKey.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal)) return null;
        if (Config.TieWordEmbeddings && checkpointKey == "lm_head.weight") return null;
        return checkpointKey;
    }

    /// <summary>Embedding, decoder layers and the final norm (Hugging Face's <c>LlamaModel</c>).</summary>
    private sealed class LlamaModel : nn.Module
    {
        /// <summary>The attention kernel of the forwards (see the outer model's AttentionKernel).</summary>
        public AttentionKernel Kernel { get; set; }

        private readonly Embedding embed_tokens;
        private readonly ModuleList<LlamaDecoderLayer> layers;
        private readonly RmsNorm norm;
        private readonly RotaryEmbedding _rotary;

        public LlamaModel(LlamaConfig c, Device device, ScalarType dtype) : base("model")
        {
            embed_tokens = nn.Embedding(c.VocabSize, c.HiddenSize, device: device, dtype: dtype);
            layers = new ModuleList<LlamaDecoderLayer>(Enumerable.Range(0, c.NumHiddenLayers).Select(_ => new LlamaDecoderLayer(c, device, dtype)).ToArray());
            norm = new RmsNorm(c.HiddenSize, c.RmsNormEps, device, dtype);
            _rotary = new RotaryEmbedding(c);
            RegisterComponents();
        }

        public Tensor EmbeddingWeight => embed_tokens.weight!;

        protected override void Dispose(bool disposing)
        {
            if (disposing) _rotary.Dispose();
            base.Dispose(disposing);
        }

        public Tensor Forward(Tensor inputIds, Tensor attentionMask, KvCache? cache)
        {
            long t = inputIds.shape[1];
            var positions = CausalAttention.Positions(attentionMask, t);
            var mask = CausalAttention.ForForward(attentionMask, t, Kernel);
            var h = embed_tokens.forward(inputIds);
            var (cos, sin) = _rotary.CosSin(positions, h.dtype);
            for (int i = 0; i < layers.Count; i++) h = layers[i].Forward(h, cos, sin, mask, cache, i);
            return norm.forward(h);
        }

        public void Initialize(LlamaConfig c, Generator gen)
        {
            using var noGrad = no_grad();
            Init.Normal(embed_tokens.weight!, c.InitializerRange, gen);
            foreach (var layer in layers) layer.Initialize(c, gen);
        }
    }

    /// <summary>h + self_attn(input_layernorm(h)), then + mlp(post_attention_layernorm(h)).</summary>
    private sealed class LlamaDecoderLayer : nn.Module
    {
        private readonly RmsNorm input_layernorm, post_attention_layernorm;
        private readonly LlamaAttention self_attn;
        private readonly LlamaMlp mlp;

        public LlamaDecoderLayer(LlamaConfig c, Device device, ScalarType dtype) : base("layer")
        {
            input_layernorm = new RmsNorm(c.HiddenSize, c.RmsNormEps, device, dtype);
            self_attn = new LlamaAttention(c, device, dtype);
            post_attention_layernorm = new RmsNorm(c.HiddenSize, c.RmsNormEps, device, dtype);
            mlp = new LlamaMlp(c, device, dtype);
            RegisterComponents();
        }

        public Tensor Forward(Tensor h, Tensor cos, Tensor sin, AttentionMask mask, KvCache? cache, int layer)
        {
            h = h + self_attn.Forward(input_layernorm.forward(h), cos, sin, mask, cache, layer);
            return h + mlp.Forward(post_attention_layernorm.forward(h));
        }

        public void Initialize(LlamaConfig c, Generator gen)
        {
            self_attn.Initialize(c, gen);
            mlp.Initialize(c, gen);
        }
    }

    /// <summary>Grouped-query attention: H query heads share H_kv key/value heads; rotary positions on q and k.</summary>
    private sealed class LlamaAttention : nn.Module
    {
        private readonly Linear q_proj, k_proj, v_proj, o_proj;
        private readonly int _heads, _kvHeads, _headDim;

        public LlamaAttention(LlamaConfig c, Device device, ScalarType dtype) : base("self_attn")
        {
            (_heads, _kvHeads, _headDim) = (c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDimension);
            q_proj = nn.Linear(c.HiddenSize, _heads * _headDim, hasBias: c.QkvBias, device: device, dtype: dtype);
            k_proj = nn.Linear(c.HiddenSize, _kvHeads * _headDim, hasBias: c.QkvBias, device: device, dtype: dtype);
            v_proj = nn.Linear(c.HiddenSize, _kvHeads * _headDim, hasBias: c.QkvBias, device: device, dtype: dtype);
            o_proj = nn.Linear(_heads * _headDim, c.HiddenSize, hasBias: c.OutputBias, device: device, dtype: dtype);
            RegisterComponents();
        }

        public Tensor Forward(Tensor x, Tensor cos, Tensor sin, AttentionMask mask, KvCache? cache, int layer)
        {
            long b = x.shape[0], t = x.shape[1];
            Tensor Heads(Tensor z, int heads) => z.view(b, t, heads, _headDim).transpose(1, 2);
            var q = RotaryEmbedding.Apply(Heads(q_proj.call(x), _heads), cos, sin);
            var k = RotaryEmbedding.Apply(Heads(k_proj.call(x), _kvHeads), cos, sin);
            var v = Heads(v_proj.call(x), _kvHeads);
            if (cache is not null) (k, v) = cache.Append(layer, k, v);
            int groups = _heads / _kvHeads;
            var y = CausalAttention.Attend(q, CausalAttention.RepeatKv(k, groups), CausalAttention.RepeatKv(v, groups), mask);
            return o_proj.call(y.transpose(1, 2).reshape(b, t, _heads * _headDim));
        }

        public void Initialize(LlamaConfig c, Generator gen)
        {
            foreach (var l in new[] { q_proj, k_proj, v_proj, o_proj }) Init.Linear(l, c.InitializerRange, gen);
        }
    }

    /// <summary>SwiGLU: down_proj(silu(gate_proj(x)) * up_proj(x)).</summary>
    private sealed class LlamaMlp : nn.Module
    {
        private readonly Linear gate_proj, up_proj, down_proj;

        public LlamaMlp(LlamaConfig c, Device device, ScalarType dtype) : base("mlp")
        {
            gate_proj = nn.Linear(c.HiddenSize, c.IntermediateSize, hasBias: false, device: device, dtype: dtype);
            up_proj = nn.Linear(c.HiddenSize, c.IntermediateSize, hasBias: false, device: device, dtype: dtype);
            down_proj = nn.Linear(c.IntermediateSize, c.HiddenSize, hasBias: false, device: device, dtype: dtype);
            RegisterComponents();
        }

        public Tensor Forward(Tensor x) => down_proj.call(nn.functional.silu(gate_proj.call(x)) * up_proj.call(x));

        public void Initialize(LlamaConfig c, Generator gen)
        {
            foreach (var l in new[] { gate_proj, up_proj, down_proj }) Init.Linear(l, c.InitializerRange, gen);
        }
    }

    /// <summary>weight * x / sqrt(mean(x^2) + eps), normalised in float32 for half-precision inputs (as Hugging Face does).</summary>
    private sealed class RmsNorm : nn.Module<Tensor, Tensor>
    {
        private readonly Parameter weight;
        private readonly double _eps;

        public RmsNorm(int width, double eps, Device device, ScalarType dtype) : base("rmsnorm")
        {
            weight = new Parameter(ones(width, dtype: dtype, device: device));
            _eps = eps;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            var x32 = x.dtype is ScalarType.BFloat16 or ScalarType.Float16 ? x.to_type(ScalarType.Float32) : x;
            var normed = x32 * x32.pow(2).mean(new long[] { -1 }, keepdim: true).add(_eps).rsqrt();
            return weight * normed.to_type(x.dtype);
        }
    }

    /// <summary>Rotary position embeddings in Hugging Face's half-rotation layout: the first and second halves of each head
    /// form the (cos, sin) pairs, frequencies theta^(-2i/D), optionally rescaled (linear or llama3).</summary>
    private sealed class RotaryEmbedding : IDisposable
    {
        private readonly double[] _invFreq;
        private readonly Dictionary<(DeviceType Type, int Index, ScalarType DType), Tensor> _invFreqCache = new();

        public RotaryEmbedding(LlamaConfig c)
        {
            int d = c.HeadDimension;
            _invFreq = Enumerable.Range(0, d / 2).Select(i => 1.0 / Math.Pow(c.RopeTheta, 2.0 * i / d)).ToArray();
            if (c.RopeScaling is { RopeType: "linear" } lin)
                _invFreq = _invFreq.Select(f => f / lin.Factor).ToArray();
            else if (c.RopeScaling is { RopeType: "llama3" } r)
            {
                // Llama 3.1: keep high frequencies, divide low ones by the factor, interpolate in between.
                double lowWavelen = r.OriginalMaxPositionEmbeddings / r.LowFreqFactor, highWavelen = r.OriginalMaxPositionEmbeddings / r.HighFreqFactor;
                _invFreq = _invFreq.Select(f =>
                {
                    double wavelen = 2 * Math.PI / f;
                    if (wavelen < highWavelen) return f;
                    if (wavelen > lowWavelen) return f / r.Factor;
                    double smooth = (r.OriginalMaxPositionEmbeddings / wavelen - r.LowFreqFactor) / (r.HighFreqFactor - r.LowFreqFactor);
                    return (1 - smooth) * f / r.Factor + smooth * f;
                }).ToArray();
            }
        }

        /// <summary>cos and sin [B, 1, T, D] of positions [B, T], in <paramref name="dtype"/>.</summary>
        public (Tensor Cos, Tensor Sin) CosSin(Tensor positions, ScalarType dtype)
        {
            var compute = dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
            var invFreq = InvFreq(positions.device, compute);
            var freqs = positions.to_type(compute).unsqueeze(-1) * invFreq;
            var angles = cat(new[] { freqs, freqs }, -1).unsqueeze(1);
            return (angles.cos().to_type(dtype), angles.sin().to_type(dtype));
        }

        /// <summary>The frequencies on <paramref name="device"/> in <paramref name="compute"/>, copied from the host once per
        /// device and dtype (not on every forward).</summary>
        private Tensor InvFreq(Device device, ScalarType compute)
        {
            var key = (device.type, device.index, compute);
            if (!_invFreqCache.TryGetValue(key, out var cached))
            {
                using (NewDisposeScope())
                    cached = tensor(_invFreq, device: device).to_type(compute).DetachFromDisposeScope();
                _invFreqCache[key] = cached;
            }
            return cached;
        }

        public void Dispose()
        {
            foreach (var t in _invFreqCache.Values) t.Dispose();
            _invFreqCache.Clear();
        }

        /// <summary>x cos + rotate_half(x) sin, with rotate_half(x) = [-x2, x1].</summary>
        public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
        {
            long half = x.shape[^1] / 2;
            var rotated = cat(new[] { x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half) }, -1);
            return x * cos + rotated * sin;
        }
    }

    private static class Init
    {
        public static void Normal(Tensor p, double std, Generator gen)
        {
            using var draw = randn(p.shape, generator: gen);
            p.copy_(draw.mul_(std));
        }

        public static void Linear(Linear l, double std, Generator gen)
        {
            using var noGrad = no_grad();
            Normal(l.weight!, std, gen);
            l.bias?.zero_();
        }
    }
}
