using System.Diagnostics;
using U2A.Core.Data;
using U2A.Core.Models;
using U2A.Core.Models.Gpt2;
using U2A.Core.Unlearning;
using static TorchSharp.torch;

/// <summary>What the training-step benchmark measured (for summary.json).</summary>
internal sealed record TrainStepResult(long Parameters, double TokensPerSecond, double Mfu, double GaRatio, double NpoRatio);

/// <summary>
/// Inner-step costs (issue 12, part 3): forward + backward + AdamW on a GPT-2-shaped model (random weights), and the weighted
/// GA and NPO steps (through <see cref="InnerObjective"/>, NPO with cached reference log-probs) relative to a plain supervised
/// NLL step on the same batch. Every case runs once as warm-up, then once per round (interleaved); medians of the rounds.
/// </summary>
internal static class TrainStepBench
{
    public static TrainStepResult Run(BenchOptions o, Device device, List<double> allCeilings)
    {
        using var scope = NewDisposeScope();
        var config = new Gpt2Config(VocabSize: o.TrainVocab, NEmbd: o.TrainWidth, NLayer: o.TrainLayers, NHead: o.TrainWidth / 64, NPositions: o.TrainSeq);
        using var model = new Gpt2LM(config, device, ScalarType.Float32, seed: o.Seed);
        model.SetTraining(true);
        long parameters = model.parameters().Sum(p => p.numel());
        int b = o.TrainBatch, t = o.TrainSeq;
        Console.WriteLine();
        Console.WriteLine($"== training steps: random GPT-2, {config.NLayer} layers, n_embd {config.NEmbd}, {config.NHead} head{(config.NHead == 1 ? "" : "s")}, vocab {config.VocabSize}, " +
            $"{parameters:N0} parameters, batch {b} x sequence {t} (random tokens, every position attended) ==");

        // One batch of random tokens; every token after the first is a scored (response) position, so the plain step is the
        // usual language-model NLL over the whole sequence. The reference log-probs for NPO are computed once, before any step.
        var rng = new Random(o.Seed * 7919 + 3);
        var ids = Enumerable.Range(0, b * t).Select(_ => (long)rng.Next(0, o.TrainVocab)).ToArray();
        var ones = Enumerable.Repeat(1L, b * t).ToArray();
        var tokens = new TokenBatch(tensor(ids, new long[] { b, t }, device: device), tensor(ones, new long[] { b, t }, device: device),
            tensor(ones, new long[] { b, t }, device: device));
        ForgetBatch batch;
        using (var reference = new ParameterSnapshotReference(model))
            batch = ForgetBatch.WithReference(tokens, reference, chunkSize: b);
        using var forget = batch;
        var weightValues = Enumerable.Range(0, b).Select(_ => 0.5 + rng.NextDouble()).ToArray();
        double weightSum = weightValues.Sum();
        using var weights = tensor(weightValues.Select(w => w / weightSum).ToArray(), dtype: model.DType, device: device);
        using var ga = new InnerObjective(new GradAscent());
        using var npo = new InnerObjective(new Npo());

        var parametersList = model.TrainableParameters.ToArray();
        using var optimizer = optim.AdamW(parametersList, lr: 1e-5);
        void Step(Func<Tensor> loss)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            var l = loss();
            l.backward();
            optimizer.step();
        }

        var cases = new (string Name, Action Run)[]
        {
            ("plain NLL step", () => Step(() => ResponseLogProbs.Compute(model, forget.Tokens).MeanNll.mean())),
            ("weighted GA step", () => Step(() => ga.Value(model, forget, weights))),
            ("weighted NPO step", () => Step(() => npo.Value(model, forget, weights))),
            // The parts of the plain step, for reading its cost: the forward alone (no graph), forward + backward without
            // the optimizer (the AdamW update is the plain step minus this).
            ("plain: forward only", () =>
            {
                using var partScope = NewDisposeScope();
                using var noGrad = no_grad();
                ResponseLogProbs.Compute(model, forget.Tokens).MeanNll.mean().item<float>();
            }),
            ("plain: fwd+bwd, no AdamW", () =>
            {
                using var partScope = NewDisposeScope();
                optimizer.zero_grad();
                ResponseLogProbs.Compute(model, forget.Tokens).MeanNll.mean().backward();
            }),
        };
        foreach (var c in cases) c.Run(); // warm-up
        var times = cases.Select(_ => new List<double>()).ToArray();
        var ceilings = new List<double>();
        for (int r = 0; r < o.Reps; r++)
        {
            for (int m = 0; m < cases.Length; m++)
            {
                var sw = Stopwatch.StartNew();
                cases[m].Run();
                times[m].Add(sw.Elapsed.TotalSeconds);
            }
            ceilings.Add(Machine.MatmulGflops(device, repetitions: 5));
        }

        allCeilings.AddRange(ceilings);
        double ceiling = Bench.Median(ceilings);
        double plain = Bench.Median(times[0]);
        double tokensPerSecond = b * t / plain;
        double mfu = 6.0 * parameters * tokensPerSecond / (ceiling * 1e9);
        // Ratios are taken per round (the cases of one round ran back to back) and the median of the rounds is reported.
        double RoundRatio(int m) => Bench.Median(times[m].Zip(times[0], (x, p) => x / p));
        Console.WriteLine($"{"step (fwd+bwd+AdamW)",-24} {"median s",9} {"best s",7} {"tokens/s",9} {"x plain",8}   rounds (s)");
        for (int m = 0; m < cases.Length; m++)
            Console.WriteLine($"{cases[m].Name,-24} {Bench.Median(times[m]),9:F3} {times[m].Min(),7:F3} {b * t / Bench.Median(times[m]),9:F0} {RoundRatio(m),7:F2}x   " +
                string.Join(" ", times[m].Select(x => x.ToString("F3"))));
        Console.WriteLine($"matmul ceiling after each round: {string.Join(", ", ceilings.Select(c => c.ToString("F0")))} GFLOP/s; MFU uses their median, {ceiling:F0}");
        double forwardModelFlops = 2.0 * parameters * b * t;
        Console.WriteLine($"forward only: {forwardModelFlops / Bench.Median(times[3]) / 1e9:F0} GFLOP/s of model FLOPs (2 x parameters x tokens), " +
            $"{forwardModelFlops / Bench.Median(times[3]) / (ceiling * 1e9):F2} of the ceiling; AdamW update (plain minus fwd+bwd): {plain - Bench.Median(times[4]):F3} s");
        Console.WriteLine($"plain step: {tokensPerSecond:F0} tokens/s; MFU = 6 x {parameters:N0} x tokens/s / ceiling = {mfu:F3}");
        Console.WriteLine($"weighted GA / plain = {RoundRatio(1):F2}x (goal P3: at most 1.1); weighted NPO / plain = {RoundRatio(2):F2}x (goal: at most 1.2); median of per-round ratios");
        return new TrainStepResult(parameters, tokensPerSecond, mfu, RoundRatio(1), RoundRatio(2));
    }
}
