using TorchSharp.Modules;
using U2A.Core.Models.Checkpoints;
using U2A.Core.Models.Generation;
using static TorchSharp.torch;

namespace U2A.Core.Models.Gpt2;

/// <summary>
/// GPT-2 (Radford et al. 2019) as in Hugging Face's <c>GPT2LMHeadModel</c>: token + learned position embeddings, pre-norm
/// blocks (LayerNorm, multi-head causal attention, LayerNorm, tanh-GELU MLP), a final LayerNorm and an output head tied
/// to the token embedding. The module tree carries Hugging Face's parameter names (<c>transformer.h.0.attn.c_attn.weight</c>, ...);
/// Hugging Face stores the <c>Conv1D</c> weights (<c>c_attn</c>, <c>c_proj</c>, <c>c_fc</c>) transposed, [in, out], and
/// <see cref="HfTensors"/> says so.
/// </summary>
/// <remarks>
/// Attention is explicit matmul-softmax (double backward works, for Hessian-vector products). Positions count the real
/// tokens of the attention mask, so left and right padding give the same logits for real tokens. Every parameter is trainable.
/// </remarks>
public sealed class Gpt2LM : nn.Module<Tensor, Tensor, Tensor>, ICachedCausalLM, IHfCheckpointModel, IHiddenStateModel, ISelectiveLogitsModel
{
    private readonly Gpt2Transformer transformer;
    private readonly Parameter[] _trainable;
    private readonly HfTensorBinding[] _hfTensors;

    /// <summary>
    /// Creates the model on <paramref name="device"/> (CPU when null) in <paramref name="dtype"/>. With a seed, weights are drawn
    /// as Hugging Face initialises GPT-2 (normal(0, initializer_range), residual projections scaled by 1/sqrt(2 n_layer),
    /// zero biases, unit LayerNorms) from a CPU generator, so a seed gives the same model on every device; with a null seed the
    /// weights are left at TorchSharp defaults, to be overwritten by a checkpoint.
    /// </summary>
    public Gpt2LM(Gpt2Config config, Device? device = null, ScalarType dtype = ScalarType.Float32, long? seed = 0) : base(nameof(Gpt2LM))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        device ??= CPU;
        transformer = new Gpt2Transformer(config, device, dtype);
        RegisterComponents();
        if (seed is { } s) transformer.Initialize(config, new Generator((ulong)s));
        _trainable = parameters().ToArray();
        _hfTensors = named_parameters()
            .Select(np => new HfTensorBinding(np.name, np.parameter, IsConv1DWeight(np.name)))
            .ToArray();
    }

    /// <summary>
    /// The attention kernel: <see cref="Models.AttentionKernel.Auto"/> (the default) uses libtorch's fused kernel on
    /// forward-only passes (gradient recording off) and the explicit one, which supports double backward, otherwise;
    /// <see cref="Models.AttentionKernel.Explicit"/> always uses the explicit one. The two agree to rounding.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to an undefined value.</exception>
    public AttentionKernel AttentionKernel
    {
        get => transformer.Kernel;
        set
        {
            if (!Enum.IsDefined(value)) throw new ArgumentOutOfRangeException(nameof(AttentionKernel), value, "unknown attention kernel.");
            transformer.Kernel = value;
        }
    }

    /// <summary>The model's hyper-parameters.</summary>
    public Gpt2Config Config { get; }

    IHfModelConfig IHfCheckpointModel.Config => Config;

    /// <inheritdoc />
    public int VocabularySize => Config.VocabSize;

    /// <inheritdoc />
    public int LayerCount => Config.NLayer;

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
        return transformer.Logits(transformer.Forward(inputIds, attentionMask, cache, Config)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public Tensor ForwardAt(Tensor inputIds, Tensor attentionMask, Tensor positions)
    {
        ModelInputs.Check(inputIds, attentionMask, null, LayerCount);
        ModelInputs.CheckPositions(inputIds, positions);
        using var scope = NewDisposeScope();
        var hidden = transformer.Forward(inputIds, attentionMask, null, Config);
        return transformer.Logits(hidden.reshape(-1, hidden.shape[^1]).index_select(0, positions)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public int HiddenSize => Config.NEmbd;

    /// <inheritdoc />
    public Tensor HiddenStates(Tensor inputIds, Tensor attentionMask)
    {
        ModelInputs.Check(inputIds, attentionMask, null, LayerCount);
        using var scope = NewDisposeScope();
        return transformer.Forward(inputIds, attentionMask, null, Config).MoveToOuterDisposeScope();
    }

    /// <summary>Hugging Face GPT-2 checkpoints may omit the <c>transformer.</c> prefix (base-model files); the causal-mask
    /// buffers <c>attn.bias</c> / <c>attn.masked_bias</c> and a tied <c>lm_head.weight</c> are skipped.</summary>
    public string? MapCheckpointKey(string checkpointKey)
    {
        if (checkpointKey == "lm_head.weight" || checkpointKey.EndsWith(".attn.bias", StringComparison.Ordinal) || checkpointKey.EndsWith(".attn.masked_bias", StringComparison.Ordinal))
            return null;
        return checkpointKey.StartsWith("transformer.", StringComparison.Ordinal) ? checkpointKey : "transformer." + checkpointKey;
    }

    private static bool IsConv1DWeight(string name) =>
        name.EndsWith(".weight", StringComparison.Ordinal) && (name.Contains(".c_attn.") || name.Contains(".c_proj.") || name.Contains(".c_fc."));

    /// <summary>Embeddings, blocks and the final LayerNorm (Hugging Face's <c>GPT2Model</c>).</summary>
    private sealed class Gpt2Transformer : nn.Module
    {
        /// <summary>The attention kernel of the forwards (see the outer model's AttentionKernel).</summary>
        public AttentionKernel Kernel { get; set; }

        private readonly Embedding wte, wpe;
        private readonly ModuleList<Gpt2Block> h;
        private readonly LayerNorm ln_f;

        public Gpt2Transformer(Gpt2Config c, Device device, ScalarType dtype) : base("transformer")
        {
            wte = nn.Embedding(c.VocabSize, c.NEmbd, device: device, dtype: dtype);
            wpe = nn.Embedding(c.NPositions, c.NEmbd, device: device, dtype: dtype);
            h = new ModuleList<Gpt2Block>(Enumerable.Range(0, c.NLayer).Select(_ => new Gpt2Block(c, device, dtype)).ToArray());
            ln_f = nn.LayerNorm(c.NEmbd, c.LayerNormEpsilon, device: device, dtype: dtype);
            RegisterComponents();
        }

        public Tensor Forward(Tensor inputIds, Tensor attentionMask, KvCache? cache, Gpt2Config c)
        {
            long t = inputIds.shape[1];
            var positions = CausalAttention.Positions(attentionMask, t);
            // A position is at most the mask width minus one, so only a mask wider than n_positions needs the
            // (host-synchronising) look at the actual largest position; padding may still keep it in range.
            if (attentionMask.shape[1] > c.NPositions)
            {
                long last = positions.max().item<long>();
                if (last >= c.NPositions) throw new ArgumentException($"position {last} exceeds GPT-2's n_positions ({c.NPositions}).", nameof(attentionMask));
            }
            var mask = CausalAttention.ForForward(attentionMask, t, Kernel);

            var x = wte.forward(inputIds) + wpe.forward(positions);
            for (int i = 0; i < h.Count; i++) x = h[i].Forward(x, mask, cache, i, c.NHead);
            return ln_f.forward(x);
        }

        /// <summary>The tied head: logits from final hidden states.</summary>
        public Tensor Logits(Tensor hidden) => hidden.matmul(wte.weight!.t()); // lm_head tied to wte

        public void Initialize(Gpt2Config c, Generator gen)
        {
            using var noGrad = no_grad();
            Normal(wte.weight!, c.InitializerRange, gen);
            Normal(wpe.weight!, c.InitializerRange, gen);
            foreach (var block in h) block.Initialize(c, gen);
        }
    }

    /// <summary>x + attn(ln_1(x)), then + mlp(ln_2(x)).</summary>
    private sealed class Gpt2Block : nn.Module
    {
        private readonly LayerNorm ln_1, ln_2;
        private readonly Gpt2Attention attn;
        private readonly Gpt2Mlp mlp;

        public Gpt2Block(Gpt2Config c, Device device, ScalarType dtype) : base("block")
        {
            ln_1 = nn.LayerNorm(c.NEmbd, c.LayerNormEpsilon, device: device, dtype: dtype);
            attn = new Gpt2Attention(c, device, dtype);
            ln_2 = nn.LayerNorm(c.NEmbd, c.LayerNormEpsilon, device: device, dtype: dtype);
            mlp = new Gpt2Mlp(c, device, dtype);
            RegisterComponents();
        }

        public Tensor Forward(Tensor x, AttentionMask mask, KvCache? cache, int layer, int heads)
        {
            x = x + attn.Forward(ln_1.forward(x), mask, cache, layer, heads);
            return x + mlp.Forward(ln_2.forward(x));
        }

        public void Initialize(Gpt2Config c, Generator gen)
        {
            attn.Initialize(c, gen);
            mlp.Initialize(c, gen);
        }
    }

    /// <summary>Multi-head causal self-attention: c_attn projects to q, k, v; c_proj mixes the heads.</summary>
    private sealed class Gpt2Attention : nn.Module
    {
        private readonly Linear c_attn, c_proj;

        public Gpt2Attention(Gpt2Config c, Device device, ScalarType dtype) : base("attn")
        {
            c_attn = nn.Linear(c.NEmbd, 3 * c.NEmbd, hasBias: true, device: device, dtype: dtype);
            c_proj = nn.Linear(c.NEmbd, c.NEmbd, hasBias: true, device: device, dtype: dtype);
            RegisterComponents();
        }

        public Tensor Forward(Tensor x, AttentionMask mask, KvCache? cache, int layer, int heads)
        {
            long b = x.shape[0], t = x.shape[1], c = x.shape[2], d = c / heads;
            var qkv = c_attn.call(x).split(c, 2);
            Tensor Heads(Tensor z) => z.view(b, t, heads, d).transpose(1, 2);
            var (q, k, v) = (Heads(qkv[0]), Heads(qkv[1]), Heads(qkv[2]));
            if (cache is not null) (k, v) = cache.Append(layer, k, v);
            var y = CausalAttention.Attend(q, k, v, mask);
            return c_proj.call(y.transpose(1, 2).reshape(b, t, c));
        }

        public void Initialize(Gpt2Config c, Generator gen)
        {
            NormalZeroBias(c_attn, c.InitializerRange, gen);
            NormalZeroBias(c_proj, c.InitializerRange / Math.Sqrt(2.0 * c.NLayer), gen);
        }
    }

    /// <summary>c_proj(gelu_tanh(c_fc(x))).</summary>
    private sealed class Gpt2Mlp : nn.Module
    {
        private readonly Linear c_fc, c_proj;

        public Gpt2Mlp(Gpt2Config c, Device device, ScalarType dtype) : base("mlp")
        {
            c_fc = nn.Linear(c.NEmbd, c.InnerWidth, hasBias: true, device: device, dtype: dtype);
            c_proj = nn.Linear(c.InnerWidth, c.NEmbd, hasBias: true, device: device, dtype: dtype);
            RegisterComponents();
        }

        public Tensor Forward(Tensor x) => c_proj.call(nn.functional.gelu(c_fc.call(x), GELU.Approximate.tanh));

        public void Initialize(Gpt2Config c, Generator gen)
        {
            NormalZeroBias(c_fc, c.InitializerRange, gen);
            NormalZeroBias(c_proj, c.InitializerRange / Math.Sqrt(2.0 * c.NLayer), gen);
        }
    }

    private static void Normal(Tensor p, double std, Generator gen)
    {
        using var draw = randn(p.shape, generator: gen);
        p.copy_(draw.mul_(std));
    }

    private static void NormalZeroBias(Linear l, double std, Generator gen)
    {
        Normal(l.weight!, std, gen);
        l.bias!.zero_();
    }
}
