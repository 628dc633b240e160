using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

using U2A.Core.Models;

namespace U2A.Testing;

/// <summary>
/// A small pre-norm transformer causal LM (learned positions, matmul-softmax attention, GELU MLP, tied head)
/// for synthetic tasks, examples and unit tests. Every weight is trainable; attention allows double backward.
/// Positions count real tokens only, so left and right padding give the same logits.
/// </summary>
public sealed class TinyTransformerLM : nn.Module<Tensor, Tensor, Tensor>, ICausalLM
{
    private readonly int _width, _heads;
    private readonly Parameter wte, wpe;
    private readonly ModuleList<TinyBlock> blocks;
    private readonly LayerNorm ln_f;
    private readonly Parameter[] _trainable;

    /// <summary>Creates the model with seeded random weights on <paramref name="device"/> in <paramref name="dtype"/>.</summary>
    public TinyTransformerLM(int vocabularySize, int width = 32, int layers = 2, int heads = 2, int maxLength = 64,
        long seed = 0, Device? device = null, ScalarType dtype = ScalarType.Float32) : base(nameof(TinyTransformerLM))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabularySize, 2);
        if (width % heads != 0) throw new ArgumentException($"width ({width}) must be divisible by heads ({heads}).", nameof(heads));
        _width = width; _heads = heads;
        VocabularySize = vocabularySize;
        var gen = new Generator((ulong)seed);
        wte = new Parameter(randn(vocabularySize, width, generator: gen).mul_(0.1));
        wpe = new Parameter(randn(maxLength, width, generator: gen).mul_(0.02));
        blocks = new ModuleList<TinyBlock>(Enumerable.Range(0, layers).Select(_ => new TinyBlock(width, heads, gen)).ToArray());
        ln_f = nn.LayerNorm(width);
        RegisterComponents();
        this.to(dtype);
        if (device is not null) this.to(device);
        _trainable = parameters().ToArray();
    }

    /// <inheritdoc />
    public int VocabularySize { get; }

    /// <inheritdoc />
    public IReadOnlyList<Parameter> TrainableParameters => _trainable;

    /// <inheritdoc />
    public Device Device => wte.device;

    /// <inheritdoc />
    public ScalarType DType => wte.dtype;

    /// <inheritdoc />
    public void SetTraining(bool training) => train(training);

    /// <inheritdoc />
    public Tensor Forward(Tensor inputIds, Tensor attentionMask) => forward(inputIds, attentionMask);

    /// <inheritdoc />
    public override Tensor forward(Tensor inputIds, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        long b = inputIds.shape[0], t = inputIds.shape[1];
        if (t > wpe.shape[0])
            throw new ArgumentException($"a sequence of {t} tokens is longer than the model's {wpe.shape[0]} positions (maxLength).", nameof(inputIds));
        var positions = attentionMask.cumsum(1).sub(1).clamp_min(0);
        var h = wte.index_select(0, inputIds.reshape(-1)).reshape(b, t, _width) + wpe.index_select(0, positions.reshape(-1)).reshape(b, t, _width);
        // Causal mask combined with key padding: [B, 1, T, T], true where attention is forbidden.
        var causal = ones(t, t, dtype: ScalarType.Bool, device: inputIds.device).tril();
        // A padded query attends to itself only, so no softmax row is empty (an all -inf row would give NaN gradients).
        var allowed = (causal.unsqueeze(0) & attentionMask.to_type(ScalarType.Bool).unsqueeze(1)) | eye(t, dtype: ScalarType.Bool, device: inputIds.device).unsqueeze(0);
        var forbidden = allowed.logical_not().unsqueeze(1);
        foreach (var block in blocks) h = block.Run(h, forbidden, _heads);
        h = ln_f.forward(h);
        return h.matmul(wte.t()).MoveToOuterDisposeScope();
    }

    /// <summary>One transformer block.</summary>
    internal sealed class TinyBlock : nn.Module
    {
        private readonly LayerNorm ln_1, ln_2;
        private readonly Linear c_attn, c_proj, c_fc, c_out;

        public TinyBlock(int width, int heads, Generator gen) : base(nameof(TinyBlock))
        {
            ln_1 = nn.LayerNorm(width); ln_2 = nn.LayerNorm(width);
            c_attn = nn.Linear(width, 3 * width); c_proj = nn.Linear(width, width);
            c_fc = nn.Linear(width, 4 * width); c_out = nn.Linear(4 * width, width);
            using (no_grad())
            {
                foreach (var l in new[] { c_attn, c_proj, c_fc, c_out })
                {
                    l.weight!.copy_(randn(l.weight.shape, generator: gen).mul_(0.1));
                    l.bias!.zero_();
                }
            }
            RegisterComponents();
        }

        public Tensor Run(Tensor x, Tensor forbidden, int heads)
        {
            long b = x.shape[0], t = x.shape[1], c = x.shape[2], d = c / heads;
            var qkv = c_attn.call(ln_1.forward(x)).split(c, 2);
            Tensor Heads(Tensor z) => z.view(b, t, heads, d).transpose(1, 2);
            var (q, k, v) = (Heads(qkv[0]), Heads(qkv[1]), Heads(qkv[2]));
            var att = q.matmul(k.transpose(-2, -1)).div(Math.Sqrt(d)).masked_fill(forbidden, double.NegativeInfinity);
            att = att.softmax(-1);
            var y = att.matmul(v).transpose(1, 2).contiguous().view(b, t, c);
            x = x + c_proj.call(y);
            return x + c_out.call(nn.functional.gelu(c_fc.call(ln_2.forward(x)), GELU.Approximate.tanh));
        }
    }
}
