using System.Diagnostics;
using TorchSharp.Modules;
using U2A.Core.Alignment;
using U2A.Core.Data;
using U2A.Core.Influence;
using U2A.Core.Models;
using U2A.Core.Models.Gpt2;
using U2A.Core.Optimization;
using U2A.Core.Tokenization;
using U2A.Core.Unlearning;
using static TorchSharp.torch;

/// <summary>
/// Padding waste of influence scoring on real data (issue 12): the committed HH-RLHF sample, tokenised with GPT-2's
/// tokenizer as the CLI does for <c>--format hh-rlhf</c> (plain template, <c>--max-length</c> 512, prompts cut from the
/// left, right padding), the rejected responses as the pool. A finite-difference scorer (chunk 32) scores the whole pool
/// through <see cref="UnlearningProblem.AtWeights"/> on a tiny random GPT-2 with GPT-2's vocabulary; a model wrapper
/// records the [rows, columns] and real tokens of every forward the scorer runs. Waste = padding cells / all cells.
/// </summary>
internal static class PaddingBench
{
    /// <summary>The committed sample, relative to the repository root.</summary>
    public const string SamplePath = "tests/data/real/hh_rlhf_harmless_base_test.first1000.jsonl";

    /// <summary>The CLI's default <c>--max-length</c> (PipelineOptions.MaxLength).</summary>
    public const int MaxLength = 512;

    /// <summary>The scoring chunk size measured.</summary>
    public const int ChunkSize = 32;

    /// <summary>Runs the measurement and prints its table; returns the scorer path's waste (a fraction).</summary>
    public static double Run(BenchOptions o, Device device)
    {
        var total = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        string path = FindSample();
        var read = HhRlhfReader.Read(path, new DatasetReadOptions { BadRecords = BadRecordPolicy.Skip });
        var negatives = read.Records.Select(p => p.ToNegative()).ToArray();
        // The CLI's default truncation (prompt: cut the prompt from the left) refuses a record whose response alone is over the
        // maximum, and this file has such records: count them, then use the CLI's --truncation response (cut the prompt from
        // the left, then the response from the right), which keeps every record.
        var encoder = new PromptResponseEncoder(MlTokenizer.Gpt2(), PromptTemplate.Plain);
        var strict = new SequenceCollator(encoder, new CollateOptions { MaxLength = MaxLength, Truncation = TruncationPolicy.TruncatePromptLeft });
        int refused = negatives.Count(n =>
        {
            try { strict.Encode(n.Prompt, n.Response); return false; }
            catch (CollationException) { return true; }
        });
        var collator = new SequenceCollator(encoder,
            new CollateOptions { MaxLength = MaxLength, Truncation = TruncationPolicy.TruncatePromptLeftThenResponseRight, Device = device });
        int[] lengths = collator.Lengths(negatives.Select(n => (n.Prompt, n.Response)));
        Console.WriteLine();
        Console.WriteLine($"== padding waste: {Path.GetFileName(path)}, {negatives.Length} negatives (rejected responses; {read.SkippedCount} records skipped), " +
            $"GPT-2 tokenizer, plain template, max length {MaxLength} (the CLI's default), right padding ==");
        Console.WriteLine($"truncation: the prompt from the left, then the response from the right (CLI --truncation response); the CLI's default " +
            $"(--truncation prompt) refuses {refused} of these records (response alone over {MaxLength} tokens)");
        var sorted = lengths.OrderBy(x => x).ToArray();
        Console.WriteLine($"token lengths: min {sorted[0]}, median {sorted[sorted.Length / 2]}, mean {lengths.Average():F1}, p90 {sorted[(int)(0.9 * (sorted.Length - 1))]}, " +
            $"max {sorted[^1]}; {lengths.Count(l => l >= MaxLength)} at the maximum length");

        // The scorer's path: UnlearningProblem.AtWeights over the whole pool, v = grad J of a DPO objective on a few pairs of the
        // same file (the objective only has to give a non-zero direction), finite differences at chunk 32. Token ids are folded
        // into a vocabulary of FoldedVocab (id mod FoldedVocab; masks and shapes untouched): with GPT-2's 50,257 ids a chunk of
        // 32 x 512 tokens has 3.3 GB of logits and the pass takes minutes, while the shapes the scorer forms, which are all
        // that padding depends on, are the same.
        var config = new Gpt2Config(VocabSize: FoldedVocab, NEmbd: 64, NLayer: 1, NHead: 1, NPositions: MaxLength);
        using var gpt2 = new Gpt2LM(config, device, ScalarType.Float32, seed: o.Seed);
        gpt2.SetTraining(false);
        using var model = new ShapeRecordingModel(gpt2);
        using var pool = new ForgetBatch(Fold(collator.Negatives(negatives)));
        using var reference = new ParameterSnapshotReference(model);
        var pairs = read.Records.OrderBy(p => p.Prompt.Length + p.Chosen.Length + p.Rejected.Length).Take(4).ToArray();
        var (chosen, rejected) = collator.Preferences(pairs);
        using var preferences = PreferenceBatch.WithReference(Fold(chosen), Fold(rejected), reference);
        using var inner = new InnerObjective(new GradAscent());
        var problem = new UnlearningProblem(model, pool, inner, new DpoObjective(preferences));
        var all = Enumerable.Range(0, pool.Count).ToArray();
        var bilevel = problem.AtWeights(all, all.Select(_ => 1.0 / all.Length).ToArray(), hessianBatchSize: ChunkSize, sampleSeed: o.Seed);
        using var v = new IdentityEstimator().Estimate(bilevel);
        var scorer = new InfluenceScorer(ScoringMethod.FiniteDifference, chunkSize: ChunkSize);
        model.Recording = true;
        var sw = Stopwatch.StartNew();
        double[] scores;
        using (var scoreScope = NewDisposeScope()) scores = scorer.Score(bilevel, v);
        double seconds = sw.Elapsed.TotalSeconds;
        model.Recording = false;
        if (scores.Any(s => !double.IsFinite(s))) throw new InvalidOperationException("the finite-difference scores are not all finite.");

        var calls = model.Calls;
        long cells = calls.Sum(c => c.Rows * c.Columns), real = calls.Sum(c => c.Real);
        double scorerWaste = 1.0 - (double)real / cells;
        var original = Waste(lengths, Enumerable.Range(0, lengths.Length).ToArray());
        var byLength = Waste(lengths, Enumerable.Range(0, lengths.Length).OrderBy(i => lengths[i]).ToArray());
        Console.WriteLine($"model: random GPT-2 (seed {o.Seed}), {config.NLayer} layer, n_embd {config.NEmbd}, vocab {config.VocabSize} (token ids folded: id mod {FoldedVocab}); inner GradAscent; " +
            $"v = grad J, DPO on the 4 shortest pairs of the file; FD scoring of all {pool.Count} in {seconds:F1} s ({calls.Count} forwards: two passes)");
        Console.WriteLine($"{"chunks of 32",-36} {"forwards",8} {"cells",11} {"real tokens",11} {"waste",7}   columns per chunk (first pass)");
        Console.WriteLine($"{"scorer (FD), as it ran",-36} {calls.Count,8} {cells,11:N0} {real,11:N0} {scorerWaste,7:P1}   " +
            string.Join(" ", calls.Take(calls.Count / 2).Select(c => c.Columns)));
        Console.WriteLine($"{"pool order (from the lengths)",-36} {original.Chunks,8} {original.Cells,11:N0} {original.Real,11:N0} {original.Waste,7:P1}   " +
            string.Join(" ", original.Columns));
        Console.WriteLine($"{"sorted by length (from the lengths)",-36} {byLength.Chunks,8} {byLength.Cells,11:N0} {byLength.Real,11:N0} {byLength.Waste,7:P1}   " +
            string.Join(" ", byLength.Columns));
        Console.WriteLine($"padding waste on the scorer's path: {scorerWaste:P1} (goal: at most 10%); the pool padded as one batch would waste " +
            $"{1.0 - (double)lengths.Sum() / ((long)lengths.Length * lengths.Max()):P1}; {total.Elapsed.TotalSeconds:F0} s in all");
        return scorerWaste;
    }

    /// <summary>The vocabulary the token ids are folded into for the scorer's pass (shapes and masks are unchanged).</summary>
    public const int FoldedVocab = 2048;

    /// <summary>The batch with every token id replaced by id mod <see cref="FoldedVocab"/> (takes over and disposes <paramref name="batch"/>).</summary>
    private static TokenBatch Fold(TokenBatch batch)
    {
        using (batch)
            return new TokenBatch(batch.InputIds.remainder(FoldedVocab), batch.AttentionMask.clone(), batch.ResponseMask.clone());
    }

    /// <summary>Waste of chunks of <see cref="ChunkSize"/> cut from <paramref name="order"/>, each padded to its longest row
    /// (what TokenBatch.Select keeps of a right-padded pool).</summary>
    private static (int Chunks, long Cells, long Real, double Waste, int[] Columns) Waste(int[] lengths, int[] order)
    {
        var columns = order.Chunk(ChunkSize).Select(c => c.Max(i => lengths[i])).ToArray();
        long cells = order.Chunk(ChunkSize).Sum(c => (long)c.Length * c.Max(i => lengths[i]));
        long real = lengths.Sum(l => (long)l);
        return (columns.Length, cells, real, 1.0 - (double)real / cells, columns);
    }

    /// <summary>The sample, looked for above the working directory and above the program's folder.</summary>
    private static string FindSample()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, SamplePath);
                if (File.Exists(candidate)) return candidate;
            }
        throw new FileNotFoundException($"--padding needs {SamplePath}: not found above {Directory.GetCurrentDirectory()} or {AppContext.BaseDirectory}; " +
            "run it from the repository.");
    }
}

/// <summary>An <see cref="ICausalLM"/> that records the shape and real tokens of every forward while <see cref="Recording"/>,
/// and otherwise is the model it wraps (borrowed: disposing the wrapper leaves it alone).</summary>
internal sealed class ShapeRecordingModel(ICausalLM inner) : ICausalLM
{
    /// <summary>Whether forwards are recorded.</summary>
    public bool Recording { get; set; }

    /// <summary>[rows, columns] and real (attended) tokens of each recorded forward, in order.</summary>
    public List<(long Rows, long Columns, long Real)> Calls { get; } = new();

    /// <inheritdoc />
    public Tensor Forward(Tensor inputIds, Tensor attentionMask)
    {
        if (Recording)
        {
            long real;
            using (no_grad())
            using (var sum = attentionMask.sum())
                real = sum.item<long>();
            Calls.Add((attentionMask.shape[0], attentionMask.shape[1], real));
        }
        return inner.Forward(inputIds, attentionMask);
    }

    /// <inheritdoc />
    public IReadOnlyList<Parameter> TrainableParameters => inner.TrainableParameters;
    /// <inheritdoc />
    public Device Device => inner.Device;
    /// <inheritdoc />
    public ScalarType DType => inner.DType;
    /// <inheritdoc />
    public int VocabularySize => inner.VocabularySize;
    /// <inheritdoc />
    public void SetTraining(bool training) => inner.SetTraining(training);
    /// <inheritdoc />
    public void Dispose() { }
}
