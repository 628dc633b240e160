using System.Globalization;
using U2A.Core.Models.Checkpoints;
using U2A.Core.Models.Llama;
using U2A.Core.Tests.Models;

namespace U2A.Core.Tests.Reliability.Files;

/// <summary>
/// The child side of the kill test: saves two different checkpoints into one directory, alternately and with alternating
/// layouts (single file, shards), forever, printing <c>saved i</c> after each; the parent kills it at an arbitrary moment.
/// </summary>
internal static class SaveLoopWorker
{
    public const string Mode = "hf-save-loop";

    /// <summary>The two models the loop saves (the parent builds the same ones to compare with).</summary>
    public static LlamaLM Model(int which) => which == 0
        ? new LlamaLM(ModelTestKit.TinyLlama, seed: 1)
        : new LlamaLM(ModelTestKit.TinyLlama with { RmsNormEps = 1e-3 }, seed: 2);

    /// <summary>Shard size of save number <paramref name="i"/>: single file, 4,000-byte shards, 9,000-byte shards.</summary>
    public static long ShardBytes(int i) => (i % 3) switch { 0 => 0, 1 => 4_000, _ => 9_000 };

    public static int Run()
    {
        string dir = Environment.GetEnvironmentVariable("U2A_SAVE_DIR")!;
        int start = int.Parse(Environment.GetEnvironmentVariable("U2A_SAVE_START") ?? "0", CultureInfo.InvariantCulture);
        using var a = Model(0);
        using var b = Model(1);
        Console.Out.WriteLine("ready");
        for (int i = start; ; i++)
        {
            HfCheckpoint.Save(i % 2 == 0 ? a : b, dir, maxShardBytes: ShardBytes(i));
            Console.Out.WriteLine($"saved {i}");
        }
    }
}
