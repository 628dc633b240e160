using U2A.Core.Alignment;
using U2A.Core.Models;
using U2A.Core.Selection;
using U2A.Core.Unlearning;
using static TorchSharp.torch;

namespace U2A.Core.MisuseProbe;

/// <summary>A user's <see cref="IUnlearner"/> written wrongly: its per-example loss is whatever <paramref name="loss"/> returns.</summary>
public sealed class MisbehavingUnlearner(string name, Func<SequenceLogProbs, Tensor> loss, bool needsReference = false) : IUnlearner
{
    public string Name => name;
    public bool NeedsReference => needsReference;
    public Tensor PerExampleLoss(SequenceLogProbs policy, SequenceLogProbs? reference) => loss(policy);

    /// <summary>GradAscent, detached from the graph (the review's first abort).</summary>
    public static MisbehavingUnlearner Detached() => new("DetachedGA", p => p.Mean.detach());

    /// <summary>GradAscent computed under no_grad.</summary>
    public static MisbehavingUnlearner NoGrad() => new("NoGradGA", p => { using var _ = no_grad(); return p.Mean * 1.0; });

    /// <summary>GradAscent rounded to int64.</summary>
    public static MisbehavingUnlearner Integer() => new("IntegerGA", p => p.Mean.to_type(ScalarType.Int64));

    /// <summary>A batch mean instead of one loss per example.</summary>
    public static MisbehavingUnlearner Scalar() => new("MeanGA", p => p.Mean.mean());

    /// <summary>A fresh leaf that requires grad but depends on no parameter.</summary>
    public static MisbehavingUnlearner Leaf() => new("LeafGA", p => zeros(p.Sum.shape[0], dtype: p.Sum.dtype).requires_grad_());
}

/// <summary>A user's <see cref="IAlignmentScorer"/> written wrongly: J is whatever <paramref name="objective"/> returns (and its PA score <paramref name="score"/>, 0 by default).</summary>
public sealed class MisbehavingScorer(string name, Func<ICausalLM, Tensor> objective, Func<ICausalLM, double>? score = null) : IAlignmentScorer, IAlignmentEvaluator
{
    public string Name => name;
    public Tensor Objective(ICausalLM model) => objective(model);
    public double Evaluate(ICausalLM model, CancellationToken cancellationToken = default) => score?.Invoke(model) ?? 0.0;

    /// <summary>J = 1, a constant (the review's second abort).</summary>
    public static MisbehavingScorer Constant() => new("ConstantJ", m => tensor(1.0, dtype: m.DType));

    /// <summary>The DPO objective, detached.</summary>
    public static MisbehavingScorer Detached(IAlignmentScorer dpo) => new("DetachedDPO", m => dpo.Objective(m).detach());

    /// <summary>J as a vector of two values instead of a scalar.</summary>
    public static MisbehavingScorer Vector(IAlignmentScorer dpo) => new("VectorJ", m => dpo.Objective(m).repeat(2));
}

/// <summary>A user's <see cref="IExampleSelector"/> written wrongly.</summary>
public sealed class MisbehavingSelector(string name, Func<SelectionRequest, Selection.ExampleSelection> select) : IExampleSelector
{
    public string Name => name;
    public Selection.ExampleSelection Select(SelectionRequest request) => select(request);
}

/// <summary>A user's inner term written wrongly: its value is whatever <paramref name="value"/> returns.</summary>
public sealed class MisbehavingTerm(string name, Func<ICausalLM, Tensor> value) : IInnerTerm
{
    public string Name => name;
    public Tensor Value(ICausalLM model) => value(model);
}
