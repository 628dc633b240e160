using TorchSharp;
using U2A.Core.Models.Checkpoints;
using U2A.Core.Models.Llama;
using Xunit.Abstractions;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.ModelTestKit;

namespace U2A.Core.Tests.Reliability.Files;

/// <summary>
/// A save killed at any point never costs the checkpoint: the next load (or save) sees the previous checkpoint when the
/// new one was not completely written, or finishes moving the new one into place when it was; leftovers of dead
/// processes are removed, work in progress of running ones is left alone. Crash points are reproduced exactly by
/// running the first k steps of the commit of a save whose owner is dead, and once for real by killing a child process
/// that saves in a loop.
/// </summary>
public sealed class InterruptedSaveTests(ITestOutputHelper output)
{
    private static readonly long[][] Rows = { new long[] { 3, 14, 15, 9, 26, 5 }, new long[] { 7, 1, 8 } };

    private static Tensor Logits(IHfCheckpointModel model)
    {
        var (ids, mask) = RightPad(Rows);
        return model.Forward(ids, mask);
    }

    /// <summary>The owner token of a process that does not run: this process's id with another start time.</summary>
    private static string DeadOwner()
    {
        Assert.True(SaveOwner.TryParse(SaveOwner.Current, out int pid, out long? start));
        return SaveOwner.Format(pid, start!.Value + 1);
    }

    private static string[] StagingFolders(string dir) => Directory.GetDirectories(dir, HfCheckpointStaging.Prefix + "*");

    /// <summary>Every file of <paramref name="directory"/> (not recursive) with its bytes.</summary>
    private static SortedDictionary<string, byte[]> Files(string directory) =>
        new(Directory.GetFiles(directory).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes), StringComparer.Ordinal);

    private static void AssertSameFiles(SortedDictionary<string, byte[]> expected, SortedDictionary<string, byte[]> actual)
    {
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (name, bytes) in expected) Assert.True(bytes.AsSpan().SequenceEqual(actual[name]), name + " differs");
    }

    /// <summary>What a save of <paramref name="model"/> by <paramref name="owner"/> leaves just before its first move: a
    /// staging folder holding every file, and (when <paramref name="complete"/>) the marker.</summary>
    private static (string Staging, List<string> Files) Stage(IHfCheckpointModel model, string dir, long shardBytes, string owner, bool complete)
    {
        string staging = Path.Combine(dir, $"{HfCheckpointStaging.Prefix}{owner}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        var files = HfCheckpoint.WriteCheckpoint(model, staging, null, shardBytes);
        if (complete) HfCheckpointStaging.MarkComplete(staging, files);
        return (staging, files);
    }

    /// <summary>The files a save of <paramref name="model"/> puts into an empty directory.</summary>
    private static SortedDictionary<string, byte[]> FreshSave(IHfCheckpointModel model, long shardBytes)
    {
        using var fresh = new TempDir();
        HfCheckpoint.Save(model, fresh.Path, maxShardBytes: shardBytes);
        return Files(fresh.Path);
    }

    [Theory]
    [InlineData(0L, 0L)] // single file over single file
    [InlineData(0L, 4_000L)] // shards over a single file
    [InlineData(4_000L, 0L)] // single file over shards
    [InlineData(4_000L, 9_000L)] // fewer, larger shards over shards
    public void A_save_killed_after_writing_every_file_is_finished_by_the_next_load_whatever_step_it_died_at(long oldShards, long newShards)
    {
        using var scope = NewDisposeScope();
        using var previous = new LlamaLM(TinyLlama, seed: 1);
        using var next = new LlamaLM(TinyLlama with { RmsNormEps = 1e-3 }, seed: 2);
        var expectedLogits = Logits(next).detach();
        var expectedFiles = FreshSave(next, newShards);
        expectedFiles["README.md"] = "kept"u8.ToArray();
        int stepCount = -1;
        for (int k = 0; k <= stepCount || stepCount < 0; k++)
        {
            using var dir = new TempDir();
            HfCheckpoint.Save(previous, dir.Path, maxShardBytes: oldShards);
            File.WriteAllText(Path.Combine(dir.Path, "README.md"), "kept");
            var (staging, files) = Stage(next, dir.Path, newShards, DeadOwner(), complete: true);
            var steps = HfCheckpointStaging.CommitSteps(dir.Path, staging, files);
            stepCount = steps.Count;
            foreach (var (_, run) in steps.Take(k)) run(); // ... and the process dies here

            using var loaded = CausalLMLoader.FromPretrained(dir.Path);
            Assert.Equal(next.Config, loaded.Config);
            Assert.Equal(0.0, MaxAbsDiff(expectedLogits, Logits(loaded)));
            Assert.Empty(StagingFolders(dir.Path));
            AssertSameFiles(expectedFiles, Files(dir.Path)); // exactly the new checkpoint, no stale shard or index
        }
        output.WriteLine($"{stepCount + 1} crash points");
        Assert.True(stepCount >= 3);
    }

    [Theory]
    [InlineData(0L, 4_000L)]
    [InlineData(4_000L, 0L)]
    public void A_save_killed_while_writing_leaves_the_previous_checkpoint_and_its_leftovers_are_removed(long oldShards, long newShards)
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDir();
        using var previous = new LlamaLM(TinyLlama, seed: 3);
        HfCheckpoint.Save(previous, dir.Path, maxShardBytes: oldShards);
        var before = Files(dir.Path);

        // A save that died while writing: no marker, some files missing, a half-written temporary.
        using var next = new LlamaLM(TinyLlama with { RmsNormEps = 1e-3 }, seed: 4);
        var (staging, files) = Stage(next, dir.Path, newShards, DeadOwner(), complete: false);
        File.Delete(Path.Combine(staging, files[^1]));
        File.WriteAllBytes(Path.Combine(staging, files[0] + ".tmp-" + DeadOwner() + "-0"), new byte[100]);
        // A folder left by a version without owner tokens, and a temporary of a direct SafetensorsFile.Save that died.
        Directory.CreateDirectory(Path.Combine(dir.Path, HfCheckpointStaging.Prefix + Guid.NewGuid().ToString("N")));
        File.WriteAllBytes(Path.Combine(dir.Path, HfCheckpoint.SingleFileName + ".tmp-" + DeadOwner() + "-1"), new byte[10]);

        using var loaded = CausalLMLoader.FromPretrained(dir.Path);
        Assert.Equal(previous.Config, loaded.Config);
        Assert.Equal(0.0, MaxAbsDiff(Logits(previous), Logits(loaded)));
        Assert.Empty(StagingFolders(dir.Path));
        AssertSameFiles(before, Files(dir.Path));
    }

    [Fact]
    public void The_staging_folder_of_a_running_save_is_left_alone()
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDir();
        using var previous = new LlamaLM(TinyLlama, seed: 5);
        HfCheckpoint.Save(previous, dir.Path);
        using var next = new LlamaLM(TinyLlama, seed: 6);
        var (staging, _) = Stage(next, dir.Path, 0, SaveOwner.Current, complete: true); // owned by this (running) process

        using var loaded = CausalLMLoader.FromPretrained(dir.Path);
        Assert.Equal(0.0, MaxAbsDiff(Logits(previous), Logits(loaded)));
        Assert.True(Directory.Exists(staging));
        Assert.True(File.Exists(Path.Combine(staging, HfCheckpointStaging.MarkerFile)));
    }

    [Fact]
    public void A_later_save_first_finishes_an_interrupted_one_then_replaces_it()
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDir();
        using var first = new LlamaLM(TinyLlama, seed: 7);
        using var second = new LlamaLM(TinyLlama, seed: 8);
        using var third = new LlamaLM(TinyLlama with { RmsNormEps = 1e-4 }, seed: 9);
        HfCheckpoint.Save(first, dir.Path, maxShardBytes: 4_000);
        var (staging, files) = Stage(second, dir.Path, 0, DeadOwner(), complete: true);
        HfCheckpointStaging.CommitSteps(dir.Path, staging, files)[0].Run(); // died after the first move

        HfCheckpoint.Save(third, dir.Path, maxShardBytes: 9_000);
        Assert.Empty(StagingFolders(dir.Path));
        AssertSameFiles(FreshSave(third, 9_000), Files(dir.Path));
    }

    [Fact]
    public void A_forged_marker_cannot_move_files_other_than_checkpoint_files()
    {
        using var dir = new TempDir();
        string staging = Path.Combine(dir.Path, $"{HfCheckpointStaging.Prefix}{DeadOwner()}-x");
        Directory.CreateDirectory(staging);
        File.WriteAllText(Path.Combine(staging, "evil.sh"), "x");
        File.WriteAllLines(Path.Combine(staging, HfCheckpointStaging.MarkerFile), new[] { HfCheckpointStaging.MarkerHeader, "../evil.sh", HfCheckpointStaging.MarkerEnd });
        Assert.Null(HfCheckpointStaging.ReadMarker(staging));
        File.WriteAllLines(Path.Combine(staging, HfCheckpointStaging.MarkerFile), new[] { HfCheckpointStaging.MarkerHeader, "evil.sh", HfCheckpointStaging.MarkerEnd });
        Assert.Null(HfCheckpointStaging.ReadMarker(staging));

        HfCheckpoint.RecoverInterruptedSave(dir.Path);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path)); // removed as an incomplete save, nothing moved out
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(dir.Path)!, "evil.sh")));
    }

    [Fact]
    public void SafetensorsFile_Save_removes_temporaries_of_dead_processes_and_keeps_those_of_running_ones()
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "x.safetensors");
        string dead = path + ".tmp-" + DeadOwner() + "-0123";
        string legacyOwnPid = path + ".tmp-" + Environment.ProcessId; // the old name, from an earlier process with this id
        string running = path + ".tmp-" + SaveOwner.Current + "-4567"; // a save in progress in this process
        string otherTarget = Path.Combine(dir.Path, "y.safetensors.tmp-" + DeadOwner() + "-0");
        string notOurs = path + ".tmp-notes";
        foreach (var f in new[] { dead, legacyOwnPid, running, otherTarget, notOurs }) File.WriteAllBytes(f, new byte[3]);

        SafetensorsFile.Save(path, new Dictionary<string, Tensor> { ["w"] = ones(2) });

        Assert.False(File.Exists(dead));
        Assert.False(File.Exists(legacyOwnPid));
        Assert.True(File.Exists(running));
        Assert.True(File.Exists(otherTarget));
        Assert.True(File.Exists(notOurs));
        Assert.Single(SafetensorsFile.Load(path)).Value.Dispose();
    }

    [Fact]
    public void A_process_killed_while_saving_in_a_loop_never_leaves_a_directory_that_loads_wrong_or_not_at_all()
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDir();
        using var a = SaveLoopWorker.Model(0);
        using var b = SaveLoopWorker.Model(1);
        var expected = new[] { Logits(a).detach(), Logits(b).detach() };
        var rng = new Random(3);
        int seenA = 0, seenB = 0;
        for (int round = 0; round < 2; round++)
        {
            int start = round * 5;
            using (var child = ChildProcess.Start(SaveLoopWorker.Mode, new Dictionary<string, string>
                   {
                       ["U2A_SAVE_DIR"] = dir.Path,
                       ["U2A_SAVE_START"] = start.ToString(System.Globalization.CultureInfo.InvariantCulture),
                   }))
            {
                int waitFor = start + 1 + rng.Next(3);
                Assert.True(child.WaitForLine(l => l == $"saved {waitFor}", TimeSpan.FromMinutes(2)),
                    $"the saving child never reported save {waitFor}: {string.Join(" / ", child.Lines.TakeLast(5))} {child.Stderr}");
                Thread.Sleep(rng.Next(100)); // somewhere in the next save (one takes about 100 ms)
                child.Kill();
            }
            using var loaded = CausalLMLoader.FromPretrained(dir.Path);
            double toA = MaxAbsDiff(expected[0], Logits(loaded)), toB = MaxAbsDiff(expected[1], Logits(loaded));
            Assert.True(toA == 0 || toB == 0, $"round {round}: the loaded model is neither saved model (max diff {toA} / {toB})");
            Assert.Equal(toA == 0 ? a.Config : b.Config, loaded.Config);
            if (toA == 0) seenA++; else seenB++;
            Assert.Empty(StagingFolders(dir.Path));
        }
        output.WriteLine($"2 kills: loaded the first model {seenA} times, the second {seenB} times");
    }
}
