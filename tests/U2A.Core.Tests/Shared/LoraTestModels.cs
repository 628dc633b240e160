using TorchSharp;
using TorchSharp.Modules;
using U2A.Testing;
using U2A.Core.Data;
using U2A.Core.Models;
using U2A.Core.Models.Lora;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Shared;

/// <summary>
/// A minimal causal LM that invokes its linear layers through <c>call()</c> (so forward hooks run), or, with
/// <see cref="ViaCall"/> false, through <c>forward()</c> directly (hooks bypassed), to test both paths of
/// <see cref="LoraLinear"/>. Position-wise only: enough for these tests.
/// </summary>
internal sealed class CallStyleLM : nn.Module<Tensor, Tensor, Tensor>, ICausalLM
{
    private readonly Parameter wte;
    private readonly Linear q_proj, v_proj;

    public CallStyleLM(int vocab, int width, long seed, bool viaCall = true) : base(nameof(CallStyleLM))
    {
        var gen = new Generator((ulong)seed);
        VocabularySize = vocab;
        wte = new Parameter(randn(new long[] { vocab, width }, dtype: float64, generator: gen).mul_(0.3));
        q_proj = nn.Linear(width, width, dtype: float64);
        v_proj = nn.Linear(width, width, dtype: float64);
        using (no_grad())
        {
            foreach (var l in new[] { q_proj, v_proj })
            {
                l.weight.copy_(randn(l.weight.shape, dtype: float64, generator: gen).mul_(0.3));
                l.bias!.copy_(randn(l.bias.shape, dtype: float64, generator: gen).mul_(0.1));
            }
        }
        ViaCall = viaCall;
        RegisterComponents();
    }

    /// <summary>Invoke the layers through <c>call()</c> (true) or <c>forward()</c> (false).</summary>
    public bool ViaCall { get; set; } = true;

    /// <summary>Throw after the first layer ran (to test that the base weights are restored on exceptions).</summary>
    public bool ThrowMidway { get; set; }

    /// <summary>The weight the q_proj layer held while it ran in the last forward.</summary>
    public object? LastQWeight { get; private set; } // object, not Tensor: RegisterComponents would take a Tensor field for a buffer

    public int VocabularySize { get; }
    public IReadOnlyList<Parameter> TrainableParameters => parameters().ToArray();
    public Device Device => wte.device;
    public ScalarType DType => wte.dtype;
    public void SetTraining(bool training) => train(training);
    public Tensor Forward(Tensor inputIds, Tensor attentionMask) => forward(inputIds, attentionMask);

    public override Tensor forward(Tensor inputIds, Tensor attentionMask)
    {
        using var scope = NewDisposeScope();
        var h = wte.index_select(0, inputIds.reshape(-1)).reshape(inputIds.shape[0], inputIds.shape[1], -1);
        LastQWeight = q_proj.weight;
        h = h + (ViaCall ? q_proj.call(h) : q_proj.forward(h)).tanh();
        if (ThrowMidway) throw new InvalidOperationException("midway");
        h = h + (ViaCall ? v_proj.call(h) : v_proj.forward(h));
        return h.matmul(wte.t()).MoveToOuterDisposeScope();
    }
}

internal static class LoraFixtures
{
    public const int Vocab = 13;

    public static TinyTransformerLM Tiny(ScalarType dtype = ScalarType.Float64) =>
        new(Vocab, width: 8, layers: 2, heads: 2, maxLength: 16, seed: 3, dtype: dtype);

    /// <summary>Two rows, the second left-padded by two; prompts of 2 tokens, responses after.</summary>
    public static TokenBatch Batch()
    {
        var ids = tensor(new long[,] { { 1, 5, 7, 2, 9, 4 }, { 0, 0, 3, 8, 6, 11 } });
        var att = tensor(new long[,] { { 1, 1, 1, 1, 1, 1 }, { 0, 0, 1, 1, 1, 1 } });
        var resp = tensor(new long[,] { { 0, 0, 1, 1, 1, 1 }, { 0, 0, 0, 0, 1, 1 } });
        return new TokenBatch(ids, att, resp);
    }

    /// <summary>Sets every B (and perturbs every A) to seeded random values so the adapters change the model.</summary>
    public static void Randomise(LoraModel lora, long seed = 11, double scale = 0.2)
    {
        var gen = new Generator((ulong)seed);
        using var noGrad = no_grad();
        foreach (var a in lora.Adapters)
        {
            a.A.add_(randn(a.A.shape, dtype: a.A.dtype, generator: gen).mul_(scale));
            a.B.copy_(randn(a.B.shape, dtype: a.B.dtype, generator: gen).mul_(scale));
        }
    }

    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        using var d = (a - b).abs().max();
        return d.item<double>();
    }
}
