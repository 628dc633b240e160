using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using U2A.Core.Optimization;
using static U2A.Core.Tests.Shared.CheckpointTestKit;

namespace U2A.Core.Tests.Reliability.Checkpoints;

/// <summary>
/// The checkpoint folder: generations committed by one rename, manifests with SHA-256, fallback to the previous
/// generation, removal of what killed saves leave, and the states a kill can leave behind (made by hand here; the
/// kill test makes them for real).
/// </summary>
public sealed class CheckpointFolderTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("u2a-ckpt-").FullName;
    private string Folder => Path.Combine(_root, "ckpt");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static float[] Values(BilevelCheckpoint c) => c.Parameters[0].data<float>().ToArray();

    [Fact]
    public void Save_writes_a_checksummed_generation_and_keeps_only_the_previous_one_with_no_temporary_folders()
    {
        for (int i = 0; i < 4; i++)
        {
            using var c = Small(completed: i, offset: i);
            c.Save(Folder);
        }
        var entries = Directory.GetFileSystemEntries(Folder).Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(new[] { ".lock", "gen-000000003", "gen-000000004" }, entries);
        Assert.Equal(new[] { Folder }, Directory.GetDirectories(_root)); // nothing next to the folder either
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(Folder, "gen-000000004", "manifest.json")))!;
        Assert.Equal(new[] { "state.json", "parameters.safetensors", "best-parameters.safetensors" },
            manifest["Files"]!.AsArray().Select(f => (string)f!["Name"]!));
        Assert.All(manifest["Files"]!.AsArray(), f => Assert.Equal(64, ((string)f!["Sha256"]!).Length));

        using var loaded = BilevelCheckpoint.Load(Folder);
        Assert.Equal(3, loaded.CompletedIterations);
        Assert.Equal(Path.Combine(Folder, "gen-000000004"), loaded.Source);
        Assert.Empty(loaded.SkippedGenerations);
        Assert.Equal(new float[] { 3, 4, 5, 6, 7, 8 }, Values(loaded));
    }

    [Fact]
    public void Round_trip_keeps_every_field_bitwise_including_NaN_history_entries()
    {
        using var c = Small(completed: 2);
        c.Save(Folder);
        using var l = BilevelCheckpoint.Load(Folder);
        Assert.Equal(c.InitialScores, l.InitialScores);
        Assert.Equal(c.SelectedIndices, l.SelectedIndices);
        Assert.Equal(c.Weights, l.Weights);
        Assert.Equal(c.History.Select(h => (h.Iteration, h.Objective, h.PaScore, h.InnerSteps, h.ForgetLoss, h.ForgetNll)),
            l.History.Select(h => (h.Iteration, h.Objective, h.PaScore, h.InnerSteps, h.ForgetLoss, h.ForgetNll)));
        Assert.True(double.IsNaN(l.History[0].ForgetLoss));
        Assert.Equal((c.BestIteration, c.IterationsWithoutImprovement, c.Fingerprint), (l.BestIteration, l.IterationsWithoutImprovement, l.Fingerprint));
        Assert.Equal(c.BestParameters!.Select(t => t.data<float>().ToArray()), l.BestParameters!.Select(t => t.data<float>().ToArray()));
    }

    [Fact]
    public void A_save_killed_before_its_commit_leaves_a_temporary_folder_that_load_ignores_and_removes()
    {
        using (var c = Small(completed: 1)) c.Save(Folder);
        // What a kill inside the next save leaves: a half-written generation under a temporary name.
        string killed = Path.Combine(Folder, "gen-000000002.tmp-999999");
        Directory.CreateDirectory(killed);
        File.WriteAllText(Path.Combine(killed, "state.json"), "{\"CompletedIterations\": 2, \"Initi");
        File.WriteAllBytes(Path.Combine(killed, "parameters.safetensors.tmp-999999"), new byte[10]);

        using var loaded = BilevelCheckpoint.Load(Folder);
        Assert.Equal(1, loaded.CompletedIterations);
        Assert.Empty(loaded.SkippedGenerations); // not a generation at all until renamed
        Assert.False(Directory.Exists(killed));
    }

    [Fact]
    public void A_save_leaves_no_leftover_of_killed_saves_or_of_the_earlier_two_rename_layout()
    {
        Directory.CreateDirectory(Path.Combine(Folder, "gen-000000007.tmp-12345"));
        // The layout of earlier versions, killed between its two renames: "<folder>.tmp-<pid>" and "<folder>.old-<pid>".
        foreach (var sibling in new[] { Folder + ".tmp-4242", Folder + ".old-4242" })
        {
            Directory.CreateDirectory(sibling);
            File.WriteAllText(Path.Combine(sibling, "state.json"), "{}");
        }
        using (var c = Small()) c.Save(Folder);
        Assert.Equal(new[] { Folder }, Directory.GetDirectories(_root));
        Assert.Equal(new[] { "gen-000000001" }, Directory.GetDirectories(Folder).Select(Path.GetFileName));
    }

    [Fact]
    public void A_kill_after_the_commit_but_before_pruning_loads_the_newest_and_the_next_load_or_save_prunes()
    {
        for (int i = 1; i <= 3; i++) { using var c = Small(completed: i, offset: i); c.Save(Folder); }
        void PutBackGenerationOne()
        {
            // As a kill between a save's commit and its pruning leaves it.
            using (var c = Small(completed: 1, offset: 1)) c.Save(Path.Combine(_root, "other"));
            Directory.Move(Generations(Path.Combine(_root, "other"))[0], Path.Combine(Folder, "gen-000000001"));
            Directory.Delete(Path.Combine(_root, "other"), recursive: true);
            Assert.Equal(3, Generations(Folder).Length);
        }
        PutBackGenerationOne();
        using (var loaded = BilevelCheckpoint.Load(Folder)) Assert.Equal(3, loaded.CompletedIterations);
        Assert.Equal(new[] { "gen-000000003", "gen-000000002" }, Generations(Folder).Select(Path.GetFileName));

        PutBackGenerationOne();
        using (var c = Small(completed: 4)) c.Save(Folder);
        Assert.Equal(new[] { "gen-000000004", "gen-000000003" }, Generations(Folder).Select(Path.GetFileName));
    }

    [Fact]
    public void A_load_that_falls_back_keeps_the_generation_it_used_and_removes_only_older_ones()
    {
        for (int i = 1; i <= 2; i++) { using var c = Small(completed: i, offset: i); c.Save(Folder); }
        foreach (var (name, completed) in new[] { ("gen-000000003", 3), ("gen-000000004", 4) })
        {
            using var c = Small(completed: completed, offset: completed);
            c.Save(Path.Combine(_root, "other"));
            Directory.Move(Generations(Path.Combine(_root, "other"))[0], Path.Combine(Folder, name));
        }
        // Generations 1..4 (1 is left over by a kill before pruning); the newest two are damaged.
        File.Delete(Path.Combine(Folder, "gen-000000004", "manifest.json"));
        File.Delete(Path.Combine(Folder, "gen-000000003", "state.json"));
        using (var loaded = BilevelCheckpoint.Load(Folder))
        {
            Assert.Equal(Path.Combine(Folder, "gen-000000002"), loaded.Source);
            Assert.Equal(2, loaded.SkippedGenerations.Count);
        }
        Assert.Equal(new[] { "gen-000000004", "gen-000000003", "gen-000000002" }, Generations(Folder).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("manifest missing")]
    [InlineData("parameters truncated")]
    [InlineData("parameters bit flip")]
    [InlineData("state truncated")]
    [InlineData("state inconsistent")]
    public void A_corrupt_or_incomplete_newest_generation_falls_back_to_the_previous_one_and_says_why(string damage)
    {
        var logger = new ListLogger();
        using (var c = Small(completed: 1, offset: 1)) c.Save(Folder);
        using (var c = Small(completed: 2, offset: 2)) c.Save(Folder);
        string newest = Generations(Folder)[0];
        string parameters = Path.Combine(newest, "parameters.safetensors"), state = Path.Combine(newest, "state.json");
        string expected;
        switch (damage)
        {
            case "manifest missing":
                File.Delete(Path.Combine(newest, "manifest.json"));
                expected = "manifest.json: missing";
                break;
            case "parameters truncated":
                File.WriteAllBytes(parameters, File.ReadAllBytes(parameters)[..40]);
                expected = $"{parameters}: 40 bytes, but manifest.json records";
                break;
            case "parameters bit flip":
                var bytes = File.ReadAllBytes(parameters);
                bytes[^3] ^= 0x10;
                File.WriteAllBytes(parameters, bytes);
                expected = $"{parameters}: SHA-256";
                break;
            case "state truncated":
                Rewrite(newest, "state.json", File.ReadAllBytes(state)[..50]);
                expected = $"{state}: not a valid checkpoint state";
                break;
            default:
                EditState(newest, s => s["BestIteration"] = 7);
                expected = $"{state}: BestIteration = 7 is outside 0..CompletedIterations = 2";
                break;
        }
        using var loaded = BilevelCheckpoint.Load(Folder, logger: logger);
        Assert.Equal(1, loaded.CompletedIterations);
        Assert.Equal(Generations(Folder)[1], loaded.Source);
        Assert.Contains(expected, Assert.Single(loaded.SkippedGenerations));
        Assert.Contains(logger.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains(expected, StringComparison.Ordinal));
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, Values(loaded));
    }

    [Fact]
    public void When_every_generation_is_unusable_the_error_names_each_file_and_what_is_wrong()
    {
        using (var c = Small(completed: 1)) c.Save(Folder);
        using (var c = Small(completed: 2)) c.Save(Folder);
        var (newest, previous) = (Generations(Folder)[0], Generations(Folder)[1]);
        File.Delete(Path.Combine(newest, "manifest.json"));
        File.AppendAllText(Path.Combine(previous, "state.json"), " ");
        var e = Assert.Throws<InvalidDataException>(() => BilevelCheckpoint.Load(Folder));
        Assert.Contains("no usable checkpoint; 2 generations tried", e.Message);
        Assert.Contains(Path.Combine(newest, "manifest.json") + ": missing", e.Message);
        Assert.Contains(Path.Combine(previous, "state.json") + ":", e.Message);
        Assert.Contains("bytes, but manifest.json records", e.Message);
    }

    [Fact]
    public void A_truncated_state_file_gives_InvalidDataException_naming_the_file_not_JsonException()
    {
        using (var c = Small()) c.Save(Folder);
        string generation = Generations(Folder)[0], state = Path.Combine(generation, "state.json");
        var text = File.ReadAllBytes(state);
        foreach (int length in new[] { 0, 1, text.Length / 2, text.Length - 2 })
        {
            Rewrite(generation, "state.json", text[..length]);
            var e = Assert.Throws<InvalidDataException>(() => BilevelCheckpoint.Load(Folder));
            Assert.StartsWith(state + ": not a valid checkpoint state (truncated or corrupt", e.Message);
            Assert.IsAssignableFrom<System.Text.Json.JsonException>(e.InnerException);
        }
    }

    [Fact]
    public void Missing_folder_empty_folder_and_a_folder_with_only_a_killed_first_save_hold_no_checkpoint()
    {
        Assert.False(BilevelCheckpoint.TryLoad(Folder, out _));
        Assert.Contains("no checkpoint here", Assert.Throws<InvalidDataException>(() => BilevelCheckpoint.Load(Folder)).Message);
        Directory.CreateDirectory(Path.Combine(Folder, "gen-000000001.tmp-31337"));
        Assert.False(BilevelCheckpoint.TryLoad(Folder, out var none));
        Assert.Null(none);
        Assert.Empty(Directory.GetDirectories(Folder));
    }

    [Fact]
    public void A_second_writer_is_refused_and_load_leaves_a_running_writers_temporary_folder_alone()
    {
        using (var c = Small(completed: 1)) c.Save(Folder);
        string inProgress = Path.Combine(Folder, "gen-000000002.tmp-1");
        Directory.CreateDirectory(inProgress);
        using (var writer = new FileStream(Path.Combine(Folder, ".lock"), FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            using var c = Small(completed: 2);
            var e = Assert.Throws<IOException>(() => c.Save(Folder));
            Assert.Contains("another run (process or thread) is writing a checkpoint here", e.Message);
            using (var loaded = BilevelCheckpoint.Load(Folder)) Assert.Equal(1, loaded.CompletedIterations);
            Assert.True(Directory.Exists(inProgress));
        }
        using (var loaded = BilevelCheckpoint.Load(Folder)) Assert.Equal(1, loaded.CompletedIterations);
        Assert.False(Directory.Exists(inProgress));
    }

    [Fact]
    public void The_single_folder_layout_of_earlier_versions_still_loads_and_is_replaced_by_the_next_save()
    {
        // Earlier versions wrote state.json and the tensors straight into the folder.
        using (var c = Small(completed: 2, offset: 5)) c.Save(Path.Combine(_root, "new"));
        Directory.CreateDirectory(Folder);
        foreach (var file in Directory.GetFiles(Generations(Path.Combine(_root, "new"))[0]).Where(f => !f.EndsWith("manifest.json", StringComparison.Ordinal)))
            File.Copy(file, Path.Combine(Folder, Path.GetFileName(file)));
        using (var loaded = BilevelCheckpoint.Load(Folder))
        {
            Assert.Equal(Folder, loaded.Source);
            Assert.Equal(new float[] { 5, 6, 7, 8, 9, 10 }, Values(loaded));
        }
        using (var c = Small(completed: 3)) c.Save(Folder);
        Assert.Equal(new[] { ".lock", "gen-000000001" }, Directory.GetFileSystemEntries(Folder).Select(Path.GetFileName).Order());

        // Killed between the two renames, the earlier layout left the only copy in "<folder>.old-<pid>".
        string lone = Path.Combine(_root, "lone");
        Directory.Move(Path.Combine(_root, "new"), lone + ".old-777");
        var generation = Generations(lone + ".old-777")[0];
        foreach (var file in Directory.GetFiles(generation)) File.Move(file, Path.Combine(lone + ".old-777", Path.GetFileName(file)));
        using (var loaded = BilevelCheckpoint.Load(lone)) Assert.Equal(lone + ".old-777", loaded.Source);
    }

    [Fact]
    public void Save_refuses_an_inconsistent_checkpoint_and_writes_nothing()
    {
        using var c = Small();
        var bad = new BilevelCheckpoint
        {
            CompletedIterations = c.CompletedIterations, InitialScores = c.InitialScores, SelectedIndices = new[] { 2, 4 },
            Weights = c.Weights, History = c.History, BestIteration = c.BestIteration,
            IterationsWithoutImprovement = c.IterationsWithoutImprovement, Parameters = c.Parameters,
        };
        var e = Assert.Throws<InvalidOperationException>(() => bad.Save(Folder));
        Assert.Contains("SelectedIndices[1] = 4 is outside the pool of 4 examples", e.Message);
        Assert.False(Directory.Exists(Folder));
    }
}
