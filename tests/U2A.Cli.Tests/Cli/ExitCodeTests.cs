namespace U2A.Cli.Tests.Cli;

/// <summary>Exit codes and messages of bad arguments (2, naming the option) and failures (1).</summary>
public sealed class ExitCodeTests : IDisposable
{
    private readonly TinyModelFolder _f = new();

    public void Dispose() => _f.Dispose();

    [Theory]
    [InlineData("--estimator", "hessian")]
    [InlineData("--unlearner", "dpo")]
    [InlineData("--chunk-size", "0")]
    [InlineData("--lora-rank", "0")]
    [InlineData("--format", "csv")]
    [InlineData("--threads", "0")]
    public void A_bad_value_exits_2_naming_the_option(string option, string value)
    {
        var r = U2a.InProcess(["score", .. _f.Common("--out", _f.Out("x"), option, value)]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(option, r.Error);
    }

    [Fact]
    public void Missing_required_options_and_unknown_commands_exit_2()
    {
        var r = U2a.InProcess("score", "--pool", _f.Pool);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--model", r.Error);
        Assert.Equal(2, U2a.InProcess("train").ExitCode);
        var selector = U2a.InProcess(["run", .. _f.Common("--out", _f.Out("r"), "--selector", "best")]);
        Assert.Equal(2, selector.ExitCode);
        Assert.Contains("--selector", selector.Error);
    }

    [Fact]
    public void A_missing_model_folder_or_file_exits_2_and_a_bad_data_file_exits_1()
    {
        var folder = U2a.InProcess("score", "--model", _f.Out("nowhere"), "--pool", _f.Pool, "--prefs", _f.Prefs, "--out", _f.Out("x"), "--quiet");
        Assert.Equal(2, folder.ExitCode);
        Assert.Contains("--model", folder.Error);
        var pool = U2a.InProcess("score", "--model", _f.ModelDir, "--pool", _f.Out("none.jsonl"), "--prefs", _f.Prefs, "--out", _f.Out("x"), "--quiet");
        Assert.Equal(2, pool.ExitCode);
        Assert.Contains("--pool", pool.Error);
        string empty = _f.Out("empty.jsonl");
        File.WriteAllText(empty, "{\"chosen\": 1}\n");
        var bad = U2a.InProcess(["score", .. _f.Common("--out", _f.Out("x"))[..^0].Select(a => a == _f.Pool ? empty : a)]);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("no negatives", bad.Error);
    }

    [Theory]
    [InlineData("score")]
    [InlineData("run")]
    public void An_out_that_is_a_file_exits_2_naming_the_option_before_any_work(string command)
    {
        var r = U2a.InProcess([command, .. _f.Common("--out", _f.Pool)]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--out", r.Error);
        Assert.Contains("is a file", r.Error);
    }
}
