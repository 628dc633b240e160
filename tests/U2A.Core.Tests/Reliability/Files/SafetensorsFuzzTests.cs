using Xunit.Abstractions;

namespace U2A.Core.Tests.Reliability.Files;

/// <summary>
/// Mutated real safetensors files (written by the library: GPT-2, BF16 Llama, a shard of a sharded Qwen2 checkpoint, a
/// LoRA adapter) are read by <c>SafetensorsFile</c> and by the model loaders; each must load or fail with an
/// <see cref="InvalidDataException"/> naming the file, never another exception, a hang or a native crash. The variants run
/// in a child process (<see cref="ChildProcess"/>), so a native crash fails the test instead of killing the test host, and
/// each variant has its own time limit there. Seeded and deterministic: a failure names the variant, which the seed and
/// its index reproduce. <c>U2A_LONG_TESTS=1</c> runs 12,000 variants instead of 1,200.
/// </summary>
public sealed class SafetensorsFuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("u2a-fuzz-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }

    private static bool LongMode => Environment.GetEnvironmentVariable("U2A_LONG_TESTS") == "1";

    [Fact]
    public void Mutated_real_files_load_or_fail_with_an_InvalidDataException_naming_the_file()
    {
        int count = LongMode ? 12_000 : 1_200;
        var report = FuzzReport.Run(seed: 20_240_611, count, _dir, overall: TimeSpan.FromMinutes(LongMode ? 60 : 10));
        var problems = report.Problems();
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        var s = report.Summary!;
        output.WriteLine($"variants {s.Variants} in {s.Seconds:F1} s; SafetensorsFile: loaded {s.FileLoaded}, InvalidDataException {s.FileInvalid}; " +
            $"model loaders: loaded {s.ModelLoaded}, InvalidDataException {s.ModelInvalid}; crashes 0, hangs 0");
        foreach (var (family, c) in s.Families) output.WriteLine($"  {family}: {c[0]} variants, file loaded {c[1]}, model loaded {c[2]}");
        Assert.Equal(count, s.Variants);
        Assert.Equal(count, s.FileLoaded + s.FileInvalid);
        Assert.Equal(count, s.ModelLoaded + s.ModelInvalid);
        // The mix must exercise both outcomes in quantity, or the mutations have stopped reaching the checks.
        Assert.True(s.FileLoaded > count / 10 && s.FileInvalid > count / 3, $"file outcomes {s.FileLoaded} loaded / {s.FileInvalid} invalid");
        Assert.True(s.ModelLoaded > count / 20, $"model outcomes {s.ModelLoaded} loaded / {s.ModelInvalid} invalid");
    }

    [Fact]
    public void A_native_crash_in_a_variant_fails_the_run_and_names_the_variant()
    {
        var report = FuzzReport.Run(seed: 1, count: 6, _dir, overall: TimeSpan.FromMinutes(5), inject: "crash:4");
        var problems = report.Problems();
        Assert.Contains(problems, p => p.StartsWith("crash:", StringComparison.Ordinal) && p.Contains("during V 4 ", StringComparison.Ordinal));
        Assert.NotEqual(0, report.ExitCode);
    }

    [Fact]
    public void A_hanging_variant_fails_the_run_and_names_the_variant()
    {
        var report = FuzzReport.Run(seed: 1, count: 6, _dir, overall: TimeSpan.FromMinutes(5), variantTimeoutMs: 1_000, inject: "hang:2");
        var problems = report.Problems();
        Assert.Contains(problems, p => p.StartsWith("hang: variant 2 ", StringComparison.Ordinal));
        Assert.Null(report.Summary);
    }
}
