using U2A.Cli.Scale;

namespace U2A.Cli.Tests.Scale;

/// <summary>prepare once, 3 shard processes of the built CLI, merge: bitwise the single-process scores; and merge's refusals.</summary>
public sealed class ShardedScoringTests : IDisposable
{
    private readonly TinyModelFolder _f = new();

    public void Dispose() => _f.Dispose();

    [Fact]
    public void Three_shard_processes_merge_to_the_single_process_scores_bitwise_and_merge_refuses_bad_sets()
    {
        var single = U2a.InProcess(["score", .. _f.Common("--out", _f.Out("single"))]);
        Assert.True(single.ExitCode == 0, single.ToString());
        string direction = _f.Out("v.safetensors");
        var prepare = U2a.InProcess(["prepare", .. _f.Common("--out", direction)]);
        Assert.True(prepare.ExitCode == 0, prepare.ToString());

        string shardDir = _f.Out("shards");
        var processes = Enumerable.Range(0, 3).Select(i => U2a.Start(["score", .. _f.Common("--direction", direction, "--shard", $"{i}/3", "--out", shardDir)])).ToArray();
        var results = processes.Select(p => U2a.Wait(p, 120)).ToArray();
        foreach (var r in results) Assert.True(r.ExitCode == 0, r.ToString());
        var files = Enumerable.Range(0, 3).Select(i => U2A.Cli.Commands.ScoreCommand.OutputPath(shardDir, new ShardSpec(i, 3))).ToArray();
        // 20 examples in chunks of 6 = 4 chunks over 3 shards: [0, 6), [6, 12), [12, 20).
        Assert.Equal([(0, 6), (6, 12), (12, 20)], files.Select(ScoreFile.Read).Select(s => (s.Start, s.End)));

        string merged = _f.Out("merged.csv");
        var merge = U2a.InProcess(["merge", files[2], files[0], files[1], "--out", merged, "--quiet"]);
        Assert.True(merge.ExitCode == 0, merge.ToString());
        Assert.Equal(File.ReadAllBytes(Path.Combine(_f.Out("single"), "scores.csv")), File.ReadAllBytes(merged));

        // A missing shard, the same shard twice, a shard of another split, another fingerprint: refused, naming the file.
        var missing = U2a.InProcess("merge", files[0], files[2], "--out", _f.Out("m1.csv"), "--quiet");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("missing shard(s) 1/3", missing.Error);
        var twice = U2a.InProcess("merge", files[0], files[1], files[1], "--out", _f.Out("m2.csv"), "--quiet");
        Assert.Equal(1, twice.ExitCode);
        Assert.Contains($"{files[1]}: shard 1/3 is also in {files[1]}", twice.Error);

        var four = ScoreFile.Read(files[0]) with { Shard = new ShardSpec(0, 4) };
        string fourPath = _f.Out("four.csv");
        four.Write(fourPath);
        var wrongCount = U2a.InProcess("merge", files[0], fourPath, files[1], files[2], "--out", _f.Out("m3.csv"), "--quiet");
        Assert.Equal(1, wrongCount.ExitCode);
        Assert.Contains($"{fourPath}: shard 0/4 belongs to a split into 4", wrongCount.Error);

        var other = ScoreFile.Read(files[1]) with { Fingerprint = new string('0', 64) };
        string otherPath = _f.Out("other.csv");
        other.Write(otherPath);
        var mismatch = U2a.InProcess("merge", files[0], otherPath, files[2], "--out", _f.Out("m4.csv"), "--quiet");
        Assert.Equal(1, mismatch.ExitCode);
        Assert.Contains($"{otherPath}: fingerprint 000000000000 differs", mismatch.Error);
        Assert.False(File.Exists(_f.Out("m4.csv")));

        // A score edited to NaN by hand is refused, naming the file and line.
        var lines = File.ReadAllLines(files[1]);
        var cells = lines[2].Split(',', 3);
        lines[2] = string.Join(",", cells[0], "NaN", cells[2]);
        string nanPath = _f.Out("nan.csv");
        File.WriteAllLines(nanPath, lines);
        var nan = U2a.InProcess("merge", files[0], nanPath, files[2], "--out", _f.Out("m5.csv"), "--quiet");
        Assert.Equal(1, nan.ExitCode);
        Assert.Contains($"{nanPath}, line 3: the score of example", nan.Error);
        Assert.False(File.Exists(_f.Out("m5.csv")));

        // A direction refuses a shard run with other options (here the seed), naming the differing part and the option.
        var refused = U2a.InProcess(["score", .. _f.Common("--direction", direction, "--shard", "0/3", "--out", shardDir, "--seed", "7")]);
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("--direction", refused.Error);
        Assert.Contains("the options", refused.Error);
        Assert.DoesNotContain("the pool file", refused.Error);
    }

    [Theory]
    [InlineData(20, 6, 3, new[] { 0, 6, 12, 20 })]
    [InlineData(20, 6, 4, new[] { 0, 6, 12, 18, 20 })]
    [InlineData(5, 2, 4, new[] { 0, 0, 2, 2, 4, 5 })]
    [InlineData(7, 100, 2, new[] { 0, 0, 7 })]
    public void Shards_are_contiguous_whole_chunks_covering_the_pool(int count, int chunk, int shards, int[] expected)
    {
        // expected: slice boundaries (with an empty shard where there are fewer chunks than shards).
        var slices = Enumerable.Range(0, shards).Select(i => new ShardSpec(i, shards).Slice(count, chunk)).ToArray();
        Assert.Equal(0, slices[0].Start);
        Assert.Equal(count, slices[^1].End);
        for (int i = 1; i < shards; i++) Assert.Equal(slices[i - 1].End, slices[i].Start);
        Assert.All(slices, s => Assert.True(s.Start % chunk == 0 || s.Start == count));
        Assert.Equal(expected.Distinct(), slices.Select(s => s.Start).Append(count).Distinct());
    }

    [Theory]
    [InlineData("3/3")]
    [InlineData("-1/3")]
    [InlineData("1")]
    [InlineData("a/b")]
    [InlineData("0/0")]
    public void A_bad_shard_is_a_usage_error_naming_the_option(string shard)
    {
        var r = U2a.InProcess(["score", .. _f.Common("--shard", shard, "--out", _f.Out("x"))]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--shard", r.Error);
    }
}
