using U2A.Core.Alignment;
using U2A.Core.Data;
using U2A.Core.Influence;
using U2A.Core.MisuseProbe;
using U2A.Core.Models;
using U2A.Core.Optimization;
using U2A.Core.Selection;
using U2A.Core.Training;
using U2A.Core.Unlearning;
using U2A.Testing;
using static TorchSharp.torch;
using SelectionResult = U2A.Core.Selection.ExampleSelection;

namespace U2A.Core.Tests.Reliability.Misuse;

/// <summary>
/// The in-process misuse matrix: every public entry point driven with a wrong input or a wrongly implemented part, each
/// case naming the exception type it must throw and the words (field, value, component) its message must contain.
/// None of these ever reached <c>torch.autograd.grad</c> with something it would abort on, so they run in the test host;
/// the cases that once aborted the process are <see cref="AbortCases"/>, run in a child process.
/// </summary>
internal static class MisuseMatrix
{
    private static readonly Type Arg = typeof(ArgumentException);
    private static readonly Type ArgNull = typeof(ArgumentNullException);
    private static readonly Type Range = typeof(ArgumentOutOfRangeException);
    private static readonly Type Invalid = typeof(InvalidOperationException);
    private static readonly Type Disposed = typeof(ObjectDisposedException);

    public static IReadOnlyList<ProbeCase> All { get; } = Build();

    public static ProbeCase Find(string name) => All.Single(c => c.Name == name);

    private static ProbeCase C(string name, Type expected, string[] fragments, Action run) => new(name, expected, fragments, run);

    private static ProbeCase W(string name, Type expected, string[] fragments, Action<MisuseWorld> run, bool lora = false) =>
        new(name, expected, fragments, () =>
        {
            using var world = new MisuseWorld(lora: lora);
            run(world);
        });

    private static Tensor Ids(long[,] v) => tensor(v);

    /// <summary>Rows (1, 5, 7, 2) and (1, 7, 2, 0): prompts of 2 and 1 tokens, the second row right-padded.</summary>
    private static (Tensor Ids, Tensor Att, Tensor Resp) Good() =>
        (Ids(new long[,] { { 1, 5, 7, 2 }, { 1, 7, 2, 0 } }), Ids(new long[,] { { 1, 1, 1, 1 }, { 1, 1, 1, 0 } }), Ids(new long[,] { { 0, 0, 1, 1 }, { 0, 1, 1, 0 } }));

    private static TokenBatch GoodBatch()
    {
        var (i, a, r) = Good();
        return new TokenBatch(i, a, r);
    }

    private static TokenBatch Batch(int rows, int seed = 3) => MisuseWorld.Batch(rows, seed);

    private static SequenceLogProbs Lp(params double[] sums) =>
        new(tensor(sums), tensor(Enumerable.Repeat(2.0, sums.Length).ToArray()));

    private sealed class RowsPolicy(int rows) : IReferencePolicy
    {
        public SequenceLogProbs LogProbs(TokenBatch batch) => Lp(new double[rows]);
    }

    private sealed class ArrayRewards(params double[] values) : IRewardModel
    {
        public Tensor Rewards(TokenBatch batch) => tensor(values.Take(batch.Count).ToArray());
    }

    private sealed class MatrixRewards : IRewardModel
    {
        public Tensor Rewards(TokenBatch batch) => zeros(batch.Count, 2);
    }

    private static InnerObjective Inner(IUnlearner u) => new(u);

    private static Tensor PerExample(MisuseWorld w, IUnlearner u) => Inner(u).PerExampleLosses(w.Model, w.Pool);

    private static SelectionRequest Request(params double[] scores) => new(scores);

    private static IReadOnlyList<ProbeCase> Build() =>
    [
        // ---- TokenBatch: the batch every input goes through ----
        C("tokenbatch/float-ids", Arg, ["inputIds", "int64", "Float32"], () => { var (i, a, r) = Good(); _ = new TokenBatch(i.to_type(ScalarType.Float32), a, r); }),
        C("tokenbatch/one-dimensional-ids", Arg, ["inputIds", "[B, T]"], () => { var (i, a, r) = Good(); _ = new TokenBatch(i.flatten(), a, r); }),
        C("tokenbatch/attention-shape", Arg, ["attentionMask", "shape", "[2, 3]"], () => { var (i, a, r) = Good(); _ = new TokenBatch(i, a[.., ..3], r); }),
        C("tokenbatch/response-shape", Arg, ["responseMask", "shape", "[1, 4]"], () => { var (i, a, r) = Good(); _ = new TokenBatch(i, a, r[..1]); }),
        C("tokenbatch/float-attention-mask", Arg, ["attentionMask", "int64", "Float32"], () => { var (i, a, r) = Good(); _ = new TokenBatch(i, a.to_type(ScalarType.Float32), r); }),
        C("tokenbatch/float-response-mask", Arg, ["responseMask", "int64", "Float64"], () => { var (i, a, r) = Good(); _ = new TokenBatch(i, a, r.to_type(ScalarType.Float64)); }),
        C("tokenbatch/bool-response-mask", Arg, ["responseMask", "int64", "Bool"], () => { var (i, a, r) = Good(); _ = new TokenBatch(i, a, r.to_type(ScalarType.Bool)); }),
        C("tokenbatch/attention-mask-of-2", Arg, ["attentionMask", "0 and 1", "to 2"], () => { var (i, a, r) = Good(); _ = new TokenBatch(i, a * 2, r); }),
        C("tokenbatch/response-mask-of-2", Arg, ["responseMask", "0 and 1", "to 2"], () => { var (i, a, r) = Good(); _ = new TokenBatch(i, a, r * 2); }),
        C("tokenbatch/negative-response-mask", Arg, ["responseMask", "from -1"], () => { var (i, a, r) = Good(); _ = new TokenBatch(i, a, r.neg()); }),
        C("tokenbatch/negative-token-id", Arg, ["inputIds", "-3"], () => { var (i, a, r) = Good(); i[0, 1] = tensor(-3L); _ = new TokenBatch(i, a, r); }),
        C("tokenbatch/zero-rows", Arg, ["at least one row"], () => _ = new TokenBatch(zeros(0, 4, dtype: ScalarType.Int64), zeros(0, 4, dtype: ScalarType.Int64), zeros(0, 4, dtype: ScalarType.Int64))),
        C("tokenbatch/zero-columns", Arg, ["responseMask", "response token"], () => _ = new TokenBatch(zeros(2, 0, dtype: ScalarType.Int64), zeros(2, 0, dtype: ScalarType.Int64), zeros(2, 0, dtype: ScalarType.Int64))),
        C("tokenbatch/response-on-padding", Arg, ["responseMask", "inside attentionMask"], () => { var (i, a, r) = Good(); r[1, 3] = tensor(1L); _ = new TokenBatch(i, a, r); }),
        C("tokenbatch/row-without-response", Arg, ["responseMask", "at least one response token"], () => { var (i, a, r) = Good(); r[1] = zeros(4, dtype: ScalarType.Int64); _ = new TokenBatch(i, a, r); }),
        C("tokenbatch/null-ids", ArgNull, ["inputIds"], () => { var (_, a, r) = Good(); _ = new TokenBatch(null!, a, r); }),
        C("tokenbatch/disposed-mask", Arg, ["attentionMask", "disposed"], () => { var (i, a, r) = Good(); a.Dispose(); _ = new TokenBatch(i, a, r); }),
        C("tokenbatch/select-nothing", Arg, ["indices", "empty"], () => Batch(3).Select(Array.Empty<long>())),
        C("tokenbatch/select-past-the-end", Range, ["index 9", "batch of 3"], () => Batch(3).Select([0, 9])),
        C("tokenbatch/select-negative", Range, ["index -1"], () => Batch(3).Select([-1])),
        C("tokenbatch/use-after-dispose", Disposed, ["TokenBatch"], () => { var b = Batch(3); b.Dispose(); _ = b.InputIds; }),

        // ---- ForgetBatch, PreferenceBatch, SequenceLogProbs ----
        C("forgetbatch/reference-with-fewer-rows", Arg, ["Reference", "2 rows", "4 examples"], () => _ = new ForgetBatch(Batch(4), Lp(0, 0))),
        C("forgetbatch/null-tokens", ArgNull, ["Tokens"], () => _ = new ForgetBatch(null!)),
        C("forgetbatch/with-reference-chunk-zero", Range, ["chunkSize"], () => _ = ForgetBatch.WithReference(Batch(2), new RowsPolicy(1), chunkSize: 0)),
        C("forgetbatch/with-reference-null-policy", ArgNull, ["reference"], () => _ = ForgetBatch.WithReference(Batch(2), null!)),
        C("forgetbatch/reference-policy-returns-wrong-rows", Invalid, ["RowsPolicy", "1 rows", "3 sequences"], () => _ = ForgetBatch.WithReference(Batch(3), new RowsPolicy(1))),
        C("forgetbatch/tokens-disposed-by-their-old-owner", Disposed, ["TokenBatch"], () =>
        {
            var tokens = Batch(3);
            using var pool = new ForgetBatch(tokens);
            tokens.Dispose(); // the pool owns them now: disposing them here breaks the pool, loudly
            pool.Select([0]);
        }),
        C("preferencebatch/rows-differ", Arg, ["Chosen has 3 rows", "Rejected has 2"], () => _ = new PreferenceBatch(Batch(3), Batch(2))),
        C("preferencebatch/with-reference-rows-differ", Arg, ["chosen has 3 rows", "rejected has 2"], () => _ = PreferenceBatch.WithReference(Batch(3), Batch(2), new RowsPolicy(3))),
        C("preferencebatch/one-reference-only", Arg, ["ReferenceChosen and ReferenceRejected", "both"], () => _ = new PreferenceBatch(Batch(2), Batch(2), Lp(0, 0))),
        C("preferencebatch/reference-with-fewer-rows", Arg, ["ReferenceChosen", "1 rows", "2 examples"], () => _ = new PreferenceBatch(Batch(2), Batch(2), Lp(0), Lp(0, 0))),
        C("sequencelogprobs/matrix-sum", Arg, ["Sum", "vector", "[2, 2]"], () => _ = new SequenceLogProbs(zeros(2, 2), zeros(2, 2))),
        C("sequencelogprobs/count-shape", Arg, ["TokenCount", "shape", "[3]"], () => _ = new SequenceLogProbs(zeros(2), zeros(3))),
        C("sequencelogprobs/integer-sum", Arg, ["Sum", "floating point", "Int64"], () => _ = new SequenceLogProbs(zeros(2, dtype: ScalarType.Int64), zeros(2))),
        C("sequencelogprobs/null-sum", ArgNull, ["Sum"], () => _ = new SequenceLogProbs(null!, zeros(2))),

        // ---- ResponseLogProbs: token ids against the vocabulary ----
        W("responselogprobs/id-equal-to-vocabulary", Arg, ["token id 13", "vocabulary of 13"], w =>
        {
            var (i, a, r) = Good(); i[0, 3] = tensor(13L);
            using var batch = new TokenBatch(i, a, r);
            ResponseLogProbs.Compute(w.Model, batch);
        }),
        W("responselogprobs/id-far-above-vocabulary", Arg, ["token id 50256", "TinyTransformerLM"], w =>
        {
            var (i, a, r) = Good(); i[1, 3] = tensor(50256L); // a padding position: its id reaches the embedding too
            using var batch = new TokenBatch(i, a, r);
            ResponseLogProbs.Compute(w.Model, batch);
        }),
        C("responselogprobs/logits-of-wrong-shape", Arg, ["logits", "[2, 4, V]", "[3, 4, 13]"], () => { using var b = GoodBatch(); ResponseLogProbs.FromLogits(zeros(3, 4, 13), b); }),
        C("responselogprobs/integer-logits", Arg, ["logits", "floating point"], () => { using var b = GoodBatch(); ResponseLogProbs.FromLogits(zeros(2, 4, 13, dtype: ScalarType.Int64), b); }),
        C("responselogprobs/logits-narrower-than-ids", Arg, ["token id 7", "vocabulary of 5"], () => { using var b = GoodBatch(); ResponseLogProbs.FromLogits(zeros(2, 4, 5), b); }),
        C("responselogprobs/null-model", ArgNull, ["model"], () => ResponseLogProbs.Compute(null!, Batch(2))),
        W("dpoobjective/model-with-smaller-vocabulary", Arg, ["vocabulary of 5"], w =>
        {
            using var small = new TinyTransformerLM(5, width: 8, layers: 1, heads: 2, maxLength: 16, seed: 1, dtype: ScalarType.Float64);
            w.Dpo.Objective(small);
        }),
        W("retainkl/retain-ids-outside-vocabulary", Arg, ["token id 20", "vocabulary of 13"], w =>
        {
            var (i, a, r) = Good(); i[0, 2] = tensor(20L);
            using var retain = new TokenBatch(i, a, r);
            using var term = new RetainKl(w.Model, retain);
        }),

        // ---- InnerObjective with wrong strategies, terms and weights ----
        W("inner/unlearner-returns-a-mean", Invalid, ["MeanGA", "shape []", "[4]"], w => PerExample(w, MisbehavingUnlearner.Scalar())),
        W("inner/unlearner-returns-a-column", Invalid, ["Column", "[4, 1]"], w => PerExample(w, new MisbehavingUnlearner("Column", p => p.Mean.unsqueeze(1)))),
        W("inner/unlearner-returns-too-many", Invalid, ["Padded", "[5]", "batch of 4"], w => PerExample(w, new MisbehavingUnlearner("Padded", p => cat([p.Mean, p.Mean[..1]], 0)))),
        W("inner/unlearner-returns-integers", Invalid, ["IntegerGA", "Int64"], w => PerExample(w, MisbehavingUnlearner.Integer())),
        W("inner/unlearner-returns-null", Invalid, ["Nothing", "null"], w => PerExample(w, new MisbehavingUnlearner("Nothing", _ => null!))),
        W("inner/unlearner-returns-detached", Invalid, ["DetachedGA", "no autograd graph"], w => PerExample(w, MisbehavingUnlearner.Detached())),
        W("inner/unlearner-under-no-grad", Invalid, ["NoGradGA", "no autograd graph"], w => PerExample(w, MisbehavingUnlearner.NoGrad())),
        W("inner/unlearner-on-another-device", Invalid, ["OtherDevice", "meta"], w => PerExample(w, new MisbehavingUnlearner("OtherDevice", p => empty(p.Sum.shape, dtype: p.Sum.dtype, device: new Device(TorchSharp.DeviceType.META))))),
        C("inner/null-term", Arg, ["terms[0]"], () => _ = new InnerObjective(new GradAscent(), [null!])),
        W("inner/nan-weight", Arg, ["weights", "NaN"], w => Inner(new GradAscent()).Value(w.Model, w.Pool, tensor(new[] { 0.25, double.NaN, 0.25, 0.25 }))),
        W("inner/negative-weight", Arg, ["weights", "non-negative", "-0.5"], w => Inner(new GradAscent()).Value(w.Model, w.Pool, tensor(new[] { 1.0, -0.5, 0.25, 0.25 }))),
        W("inner/infinite-weight", Arg, ["weights", "finite"], w => Inner(new GradAscent()).Value(w.Model, w.Pool, tensor(new[] { 1.0, double.PositiveInfinity, 0, 0 }))),
        W("inner/weights-of-wrong-length", Arg, ["weights", "[4]", "[3]"], w => Inner(new GradAscent()).Value(w.Model, w.Pool, tensor(new[] { 1.0, 0, 0 }))),
        W("inner/integer-weights", Arg, ["weights", "floating point", "Int64"], w => Inner(new GradAscent()).Value(w.Model, w.Pool, tensor(new long[] { 1, 0, 0, 0 }))),
        W("inner/weights-on-another-device", Arg, ["weights", "meta"], w => Inner(new GradAscent()).Value(w.Model, w.Pool, empty(4, dtype: ScalarType.Float64, device: new Device(TorchSharp.DeviceType.META)))),
        W("inner/term-returns-a-vector", Invalid, ["VectorTerm", "scalar", "[3]"], w => new InnerObjective(new GradAscent(), [new MisbehavingTerm("VectorTerm", m => ones(3, dtype: m.DType))]).TermsValue(w.Model)),
        W("inner/term-returns-null", Invalid, ["NullTerm", "null"], w => new InnerObjective(new GradAscent(), [new MisbehavingTerm("NullTerm", _ => null!)]).TermsValue(w.Model)),
        W("inner/term-returns-a-cached-tensor", Invalid, ["CachedTerm", "same tensor"], w =>
        {
            Tensor? cached = null;
            var inner = new InnerObjective(new GradAscent(), [new MisbehavingTerm("CachedTerm", m => cached ??= m.TrainableParameters[0].pow(2).sum().DetachFromDisposeScope())]);
            inner.TermsValue(w.Model);
            inner.TermsValue(w.Model);
        }),
        W("inner/npo-without-reference", Arg, ["NPO", "WithReference"], w => { using var plain = new ForgetBatch(Batch(2)); Inner(new Npo()).PerExampleLosses(w.Model, plain); }),
        W("inner/lora-adapters-disabled", Invalid, ["GradAscent", "DisableAdapters"], w => { using var off = w.Lora!.DisableAdapters(); PerExample(w, new GradAscent()); }, lora: true),
        W("inner/lora-adapters-merged", Invalid, ["GradAscent", "Unmerge"], w => { w.Lora!.Merge(); PerExample(w, new GradAscent()); }, lora: true),
        W("inner/null-batch", ArgNull, ["batch"], w => Inner(new GradAscent()).PerExampleLosses(w.Model, null!)),

        // ---- Built-in strategies and terms ----
        C("npo/reference-with-fewer-rows", Arg, ["NPO", "2 rows", "4"], () => new Npo().PerExampleLoss(Lp(0, 0, 0, 0), Lp(0, 0))),
        C("npo/beta-zero", Range, ["NpoOptions.Beta"], () => _ = new Npo(new NpoOptions(Beta: 0))),
        C("npo/beta-nan", Range, ["NpoOptions.Beta", "NaN"], () => _ = new Npo(new NpoOptions(Beta: double.NaN))),
        C("simnpo/beta-negative", Range, ["SimNpoOptions.Beta", "-1"], () => _ = new SimNpo(new SimNpoOptions(Beta: -1))),
        C("simnpo/delta-nan", Range, ["SimNpoOptions.Delta", "NaN"], () => _ = new SimNpo(new SimNpoOptions(Delta: double.NaN))),
        C("retainnll/alpha-negative", Range, ["alpha", "-2"], () => _ = new RetainNll(Batch(2), alpha: -2)),
        W("regularizer/lambda-nan", Range, ["ParameterRegularizerOptions.Lambda"], w => _ = new ParameterRegularizer(w.Model, new ParameterRegularizerOptions(double.NaN))),
        W("regularizer/other-model", Arg, ["trainable tensors"], w =>
        {
            using var reg = new ParameterRegularizer(w.Model);
            using var other = new TinyTransformerLM(13, width: 8, layers: 2, heads: 2, maxLength: 16, seed: 1, dtype: ScalarType.Float64);
            reg.Value(other);
        }),
        C("graddiff/null-retain-term", ArgNull, ["retainTerm"], () => _ = GradDiff.WithRetainTerm(null!)),

        // ---- BilevelProblem, estimators, InfluenceScorer ----
        C("problem/no-parameters", Arg, ["parameters", "empty"], () => _ = new BilevelProblem(Array.Empty<Tensor>(), () => zeros(1), () => zeros(1), _ => zeros(1), 1)),
        C("problem/frozen-parameter", Arg, ["parameters[0]", "requires_grad"], () => _ = new BilevelProblem([zeros(2)], () => zeros(1), () => zeros(1), _ => zeros(1), 1)),
        C("problem/parameter-listed-twice", Arg, ["parameters[1]", "twice"], () => { var p = zeros(2).requires_grad_(); _ = new BilevelProblem([p, p], () => zeros(1), () => zeros(1), _ => zeros(1), 1); }),
        C("problem/no-examples", Range, ["exampleCount"], () => _ = new BilevelProblem([zeros(2).requires_grad_()], () => zeros(1), () => zeros(1), _ => zeros(1), 0)),
        C("problem/null-objective", ArgNull, ["objective"], () => _ = new BilevelProblem([zeros(2).requires_grad_()], () => zeros(1), null!, _ => zeros(1), 1)),
        W("identity-estimator/objective-of-another-model", Invalid, ["alignment objective J", "depends on none"], w =>
        {
            using var other = new TinyTransformerLM(13, width: 8, layers: 1, heads: 2, maxLength: 16, seed: 5, dtype: ScalarType.Float64);
            new IdentityEstimator().Estimate(w.Problem(new GradAscent(), new MisbehavingScorer("OtherModelJ", _ => w.Dpo.Objective(other)))).Dispose();
        }),
        W("loop-scoring/unlearner-returns-a-fresh-leaf", Invalid, ["per-example loss", "depends on none"], w =>
        {
            using var direction = w.Direction();
            new InfluenceScorer(ScoringMethod.PerExampleLoop).Score(w.Problem(MisbehavingUnlearner.Leaf()), direction);
        }),
        C("identity-estimator/gamma-zero", Range, ["gamma"], () => _ = new IdentityEstimator(0)),
        C("conjugate-gradient/damping-nan", Range, ["damping"], () => _ = new ConjugateGradientEstimator(damping: double.NaN)),
        W("conjugate-gradient/negative-curvature", Invalid, ["not positive definite", "raise the damping"], w =>
        {
            var p = w.Model.TrainableParameters;
            new ConjugateGradientEstimator().Estimate(w.RawProblem(innerLoss: () => -p.Select(t => t.pow(2).sum()).Aggregate((a, b) => a + b))).Dispose();
        }),
        W("neumann-estimator/alpha-too-large", Invalid, ["diverges", "alpha = 5"], w =>
        {
            var p = w.Model.TrainableParameters;
            new NeumannEstimator(alpha: 5, iterations: 20).Estimate(w.RawProblem(innerLoss: () => p.Select(t => t.pow(2).sum()).Aggregate((a, b) => a + b))).Dispose();
        }),
        C("neumann-estimator/alpha-negative", Range, ["alpha"], () => _ = new NeumannEstimator(alpha: -0.1)),
        C("unrolled-estimator/zero-steps", Range, ["steps"], () => _ = new UnrolledEstimator(steps: 0)),
        C("influence-scorer/chunk-zero", Range, ["chunkSize"], () => _ = new InfluenceScorer(chunkSize: 0)),
        C("influence-scorer/step-nan", Range, ["finiteDifferenceStep"], () => _ = new InfluenceScorer(ScoringMethod.FiniteDifference, finiteDifferenceStep: double.NaN)),
        C("influence-scorer/undefined-method", Range, ["method"], () => _ = new InfluenceScorer((ScoringMethod)7)),
        W("influence-scorer/index-past-the-end", Range, ["indices[1] = 7", "4 candidates"], w =>
        {
            using var direction = w.Direction();
            new InfluenceScorer().Score(w.RawProblem(), direction, [0, 7]);
        }),
        W("influence-scorer/negative-index", Range, ["indices[0] = -1"], w =>
        {
            using var direction = w.Direction();
            new InfluenceScorer().Score(w.RawProblem(), direction, [-1]);
        }),
        W("influence-scorer/direction-of-another-model", Arg, ["direction.Terms[0].Direction", "tensors", "parameters"], w =>
        {
            using var direction = new InfluenceDirection([new InfluenceTerm(null, [zeros(3)])]);
            new InfluenceScorer().Score(w.RawProblem(), direction);
        }),
        W("influence-scorer/direction-of-wrong-shape", Arg, ["direction.Terms[0].Direction[0]", "shape"], w =>
        {
            using var direction = new InfluenceDirection([new InfluenceTerm(null, w.Model.TrainableParameters.Select(p => zeros(p.numel() + 1, dtype: p.dtype)).ToArray())]);
            new InfluenceScorer().Score(w.RawProblem(), direction);
        }),
        W("finite-difference-scoring/per-example-closure-returns-a-scalar", Invalid, ["per-example loss", "vector"], w =>
        {
            var problem = w.RawProblem(perExample: idx => zeros(Array.Empty<long>(), dtype: ScalarType.Float64));
            using var direction = w.Direction();
            new InfluenceScorer(ScoringMethod.FiniteDifference).Score(problem, direction);
        }),
        C("influence-direction/no-terms", Arg, ["terms", "at least one"], () => new InfluenceDirection([]).Dispose()),
        C("influence-direction/null-direction", Arg, ["terms[0]", "null"], () => new InfluenceDirection([new InfluenceTerm(null, null!)]).Dispose()),
        C("influence-direction/disposed-tensor", Arg, ["terms[0]", "disposed"], () => { var t = zeros(2); t.Dispose(); new InfluenceDirection([new InfluenceTerm(null, [t])]).Dispose(); }),
        W("hessian-vector-product/vector-of-wrong-shape", Arg, ["v[0]", "shape"], w =>
            w.RawProblem().InnerHessianVectorProduct(w.Model.TrainableParameters.Select(p => zeros(1, dtype: p.dtype)).ToArray())),

        // ---- Selectors, Selection, MirrorDescent ----
        C("topk/k-zero", Range, ["k"], () => _ = new TopKSelector(0)),
        C("topk/k-above-the-pool", Arg, ["k = 5", "pool of 3"], () => new TopKSelector(5).Select(Request(1, 2, 3))),
        C("topk/validate-pool", Arg, ["TopKSelector.K = 5", "pool of 3"], () => new TopKSelector(5).ValidatePool(3)),
        C("topk/nan-score", Arg, ["score 1", "NaN"], () => new TopKSelector(1).Select(Request(1, double.NaN))),
        C("topk/no-scores", Arg, ["empty"], () => new TopKSelector(1).Select(Request())),
        C("positive-score-selector/max-count-zero", Range, ["maxCount"], () => _ = new PositiveScoreSelector(0)),
        C("random-k/k-above-the-pool", Arg, ["RandomKSelector.K = 4", "pool of 2"], () => new RandomKSelector(4).ValidatePool(2)),
        C("matching-pursuit/no-interaction", Arg, ["Interaction"], () => new MatchingPursuitSelector(1).Select(Request(1, 2))),
        C("matching-pursuit/interaction-of-wrong-length", Invalid, ["Interaction(1)", "1 values", "pool of 2"], () => new MatchingPursuitSelector(1).Select(new SelectionRequest([1, 2], _ => [1.0]))),
        C("matching-pursuit/interaction-nan", Invalid, ["Interaction(1)", "not finite"], () => new MatchingPursuitSelector(1).Select(new SelectionRequest([1, 2], _ => [double.NaN, 1.0]))),
        C("selection/empty", Arg, ["Indices", "empty"], () => _ = new SelectionResult([], [])),
        C("selection/duplicate-index", Arg, ["Indices[1] = 0", "twice"], () => _ = new SelectionResult([0, 0], [0.5, 0.5])),
        C("selection/negative-index", Arg, ["Indices[0] = -1"], () => _ = new SelectionResult([-1], [1.0])),
        C("selection/weight-count", Arg, ["2 weights", "3 selected"], () => _ = new SelectionResult([0, 1, 2], [0.5, 0.5])),
        C("selection/weights-off-the-simplex", Arg, ["sum to 1.5", "simplex"], () => _ = new SelectionResult([0, 1], [1.0, 0.5])),
        C("selection/nan-weight", Arg, ["Weights[0] = NaN"], () => _ = new SelectionResult([0, 1], [double.NaN, 1.0])),
        C("selection/negative-weight", Arg, ["Weights[1] = -0.5"], () => _ = new SelectionResult([0, 1], [1.5, -0.5])),
        C("selection/index-outside-the-pool", Range, ["Indices[0] = 9", "pool of 4"], () => new SelectionResult([9], [1.0]).ThrowIfOutside(4)),
        C("selection-request/null-scores", ArgNull, ["Scores"], () => _ = new SelectionRequest(null!)),
        C("mirror-descent/nan-weight", Arg, ["weights[1] = NaN"], () => MirrorDescent.Step([0.5, double.NaN], [1, 1], 0.1)),
        C("mirror-descent/negative-weight", Arg, ["weights[0] = -0.1"], () => MirrorDescent.Step([-0.1, 1.1], [1, 1], 0.1)),
        C("mirror-descent/nan-score", Arg, ["scores[0] = NaN"], () => MirrorDescent.Step([0.5, 0.5], [double.NaN, 1], 0.1)),
        C("mirror-descent/learning-rate-zero", Range, ["learningRate"], () => MirrorDescent.Step([1.0], [1], 0)),
        C("mirror-descent/learning-rate-nan", Range, ["learningRate"], () => MirrorDescent.Step([1.0], [1], double.NaN)),
        C("mirror-descent/penalty-negative", Range, ["sparsityPenalty"], () => MirrorDescent.Step([1.0], [1], 0.1, -1)),
        C("mirror-descent/penalty-infinite", Range, ["sparsityPenalty"], () => MirrorDescent.Step([1.0], [1], 0.1, double.PositiveInfinity)),
        C("mirror-descent/counts-differ", Arg, ["2 weights but 3 scores"], () => MirrorDescent.Step([0.5, 0.5], [1, 2, 3], 0.1)),
        C("mirror-descent/no-weights", Arg, ["weights", "empty"], () => MirrorDescent.Step([], [], 0.1)),
        C("mirror-descent/all-weights-zero", Arg, ["all weights are zero"], () => MirrorDescent.Step([0.0, 0.0], [1, 2], 0.1)),
        C("mirror-descent/overflow", Arg, ["overflows", "learning rate"], () => MirrorDescent.Step([0.5, 0.5], [1e300, 1], 1e300)),

        // ---- Alignment objectives and DPO ----
        C("dpo-objective/no-reference", Arg, ["WithReference"], () => _ = new DpoObjective(new PreferenceBatch(Batch(2), Batch(2)))),
        W("dpo-objective/beta-zero", Range, ["DpoObjectiveOptions.Beta"], w => _ = new DpoObjective(w.Preferences, new DpoObjectiveOptions(Beta: 0))),
        W("dpo-objective/chunk-zero", Range, ["DpoObjectiveOptions.ChunkSize"], w => _ = new DpoObjective(w.Preferences, new DpoObjectiveOptions(ChunkSize: 0))),
        C("dpo-loss/reference-with-fewer-rows", Arg, ["referenceChosen", "1 rows", "chosen has 3"], () => DpoLoss.PerPair(Lp(0, 0, 0), Lp(0, 0, 0), Lp(0), Lp(0, 0, 0), 0.1)),
        C("dpo-loss/beta-nan", Range, ["beta"], () => DpoLoss.PerPair(Lp(0), Lp(0), Lp(0), Lp(0), double.NaN)),
        C("dpo-metrics/rejected-with-fewer-rows", Arg, ["rejected", "1 rows"], () => DpoMetrics.Compute(Lp(0, 0), Lp(0), Lp(0, 0), Lp(0, 0), 0.1)),
        W("dpo-objective/lora-adapters-disabled", Invalid, ["DpoObjective", "DisableAdapters"], w => { using var off = w.Lora!.DisableAdapters(); w.Dpo.Objective(w.Model); }, lora: true),
        W("likelihood-margin/lora-adapters-merged", Invalid, ["LikelihoodMarginObjective", "Unmerge"], w => { w.Lora!.Merge(); new LikelihoodMarginObjective(w.Preferences).Objective(w.Model); }, lora: true),
        C("reward-objective/nan-reward", Arg, ["ArrayRewards", "candidate 1", "NaN"], () => _ = new RewardObjective(Batch(2), 2, new ArrayRewards(0.5, double.NaN))),
        C("reward-objective/rows-not-a-multiple", Arg, ["3 rows", "candidatesPerPrompt = 2"], () => _ = new RewardObjective(Batch(3), 2, new ArrayRewards(0, 0, 0))),
        C("reward-objective/rewards-of-wrong-shape", Arg, ["reward model", "[2, 2]"], () => _ = new RewardObjective(Batch(2), 2, new MatrixRewards())),
        C("dpo-trainer/beta-zero", Range, ["DpoTrainerOptions.Beta"], () => new DpoTrainerOptions { Beta = 0 }.Validate()),
        W("dpo-trainer/lora-adapters-disabled", Invalid, ["DpoTrainer.Train", "DisableAdapters"], w =>
        {
            using var off = w.Lora!.DisableAdapters();
            new DpoTrainer(w.Model, new DpoTrainerOptions { MaxSteps = 1, BatchSize = 2 }).Train(w.Preferences);
        }, lora: true),

        // ---- TrainingLoop (its own checks, reached by BilevelOptimizer and DpoTrainer) ----
        C("training-loop/no-parameters", Arg, ["parameters", "empty"], () => new TrainingLoop(Array.Empty<TorchSharp.Modules.Parameter>(), 1).Dispose()),
        C("training-loop/zero-steps", Range, ["totalSteps"], () => new TrainingLoop([new TorchSharp.Modules.Parameter(zeros(2))], 0).Dispose()),
        C("training-loop/vector-loss", Invalid, ["scalar", "[2]"], () =>
        {
            var p = new TorchSharp.Modules.Parameter(zeros(2));
            using var loop = new TrainingLoop([p], 1);
            loop.Step((_, _) => p * 2);
        }),
        C("training-loop/nan-loss", typeof(NonFiniteLossException), ["loss", "NaN"], () =>
        {
            var p = new TorchSharp.Modules.Parameter(zeros(2));
            using var loop = new TrainingLoop([p], 1);
            loop.Step((_, _) => p.sum() * double.NaN);
        }),
        C("training-loop/null-loss", Invalid, ["no loss"], () =>
        {
            var p = new TorchSharp.Modules.Parameter(zeros(2));
            using var loop = new TrainingLoop([p], 1);
            loop.Step((_, _) => new StepLoss(null!));
        }),

        // ---- BilevelOptimizer.Run end to end ----
        W("run/null-pool", ArgNull, ["pool"], w => _ = new UnlearningProblem(w.Model, null!, new InnerObjective(new GradAscent()), w.Dpo)),
        W("run/zero-outer-iterations", Range, ["BilevelOptions.OuterIterations", "0"], w => w.Run(options: MisuseWorld.FastOptions() with { OuterIterations = 0 })),
        W("run/top-k-above-the-pool", Arg, ["TopKSelector.K = 9", "pool of 4"], w => w.Run(selector: new TopKSelector(9))),
        W("run/nan-unlearner", typeof(BilevelNumericalException), ["non-finite"], w => w.Run(new MisbehavingUnlearner("NanGA", p => p.Mean * double.NaN))),
        W("run/nan-objective", typeof(BilevelNumericalException), ["objective", "NaN"], w => w.Run(scorer: new MisbehavingScorer("NanJ", m => w.Dpo.Objective(m) * double.NaN))),
        W("run/nan-pa-score", typeof(BilevelNumericalException), ["PA score", "NaN"], w => w.Run(scorer: new MisbehavingScorer("NanPA", m => w.Dpo.Objective(m), _ => double.NaN))),
        W("run/unlearner-returns-a-mean", Invalid, ["MeanGA", "shape []", "one loss"], w => w.Run(MisbehavingUnlearner.Scalar())),
        W("run/finite-differences/detached-unlearner", Invalid, ["DetachedGA", "no autograd graph"], w => w.Run(MisbehavingUnlearner.Detached(), options: MisuseWorld.FastOptions(ScoringMethod.FiniteDifference))),
        W("run/selector-repeats-an-index", Arg, ["Indices[1] = 0", "twice"], w => w.Run(selector: new MisbehavingSelector("Twice", _ => new SelectionResult([0, 0], [0.5, 0.5])))),
        W("run/selector-weights-off-the-simplex", Arg, ["sum to 2"], w => w.Run(selector: new MisbehavingSelector("Heavy", _ => new SelectionResult([0, 1], [1.0, 1.0])))),
        W("run/selector-index-outside-the-pool", Range, ["Outside selected Indices[0] = 9", "pool of 4"], w => w.Run(selector: new MisbehavingSelector("Outside", _ => new SelectionResult([9], [1.0])))),
        W("run/selector-selects-nothing", Arg, ["Indices", "empty"], w => w.Run(selector: new MisbehavingSelector("Nothing", _ => new SelectionResult([], [])))),
        W("run/inner-term-returns-a-cached-tensor", Invalid, ["CachedTerm", "same tensor"], w =>
        {
            Tensor? cached = null;
            var term = new MisbehavingTerm("CachedTerm", m => cached ??= m.TrainableParameters[0].pow(2).sum().mul(1e-3).DetachFromDisposeScope());
            w.Run(terms: [term], estimator: new NeumannEstimator(alpha: 0.01, iterations: 2), options: MisuseWorld.FastOptions() with { OuterIterations = 2, Stopping = new StoppingOptions { PaPatience = 5 } });
        }),
        W("run/inner-term-returns-a-vector", Invalid, ["VectorTerm", "scalar"], w => w.Run(terms: [new MisbehavingTerm("VectorTerm", m => m.TrainableParameters[0].sum().repeat(2))])),
        W("run/lora-adapter-frozen", Arg, ["parameters[0]", "requires_grad"], w =>
        {
            w.Lora!.Adapters[0].A.requires_grad = false;
            w.Run();
        }, lora: true),
    ];
}
