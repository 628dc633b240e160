using Spectre.Console;

namespace U2A.Cli.Output;

/// <summary>
/// Where a command reports: Spectre.Console progress bars and tables, or with <c>--quiet</c> plain log lines (one per
/// progress step of about a tenth, and tables as aligned text) for logs and CI.
/// </summary>
public sealed class Reporter
{
    private readonly TextWriter _out;
    private readonly IAnsiConsole? _console;

    /// <summary>A reporter writing to <paramref name="output"/>; plain lines when <paramref name="quiet"/>.</summary>
    public Reporter(TextWriter output, bool quiet)
    {
        _out = output;
        Quiet = quiet;
        if (!quiet) _console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
    }

    /// <summary>Plain logs only.</summary>
    public bool Quiet { get; }

    /// <summary>A line of information.</summary>
    public void Info(string message)
    {
        if (_console is null) _out.WriteLine(message);
        else _console.MarkupLine(Markup.Escape(message));
    }

    /// <summary>Runs <paramref name="work"/> with progress tasks: it gets a function that makes a task (description, total) and
    /// returns a setter of its value (and, optionally, of its description).</summary>
    public T Progress<T>(Func<Func<string, double, ProgressTask>, T> work)
    {
        if (_console is null) return work((description, total) => new ProgressTask(description, total, _out, null));
        return _console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx => work((description, total) => new ProgressTask(description, total, null, ctx.AddTask(Markup.Escape(description), maxValue: total))));
    }

    /// <summary>A table of name/value rows under a title.</summary>
    public void Table(string title, IReadOnlyList<(string Name, string Value)> rows)
    {
        if (_console is null)
        {
            _out.WriteLine(title);
            int width = rows.Count == 0 ? 0 : rows.Max(r => r.Name.Length);
            foreach (var (name, value) in rows) _out.WriteLine($"  {name.PadRight(width)}  {value}");
            return;
        }
        var table = new Table().Title(Markup.Escape(title)).AddColumn("").AddColumn("");
        table.HideHeaders();
        foreach (var (name, value) in rows) table.AddRow(Markup.Escape(name), Markup.Escape(value));
        _console.Write(table);
    }

    /// <summary>A table with columns.</summary>
    public void Grid(string title, IReadOnlyList<string> columns, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = rows.ToList();
        if (_console is null)
        {
            _out.WriteLine(title);
            var widths = columns.Select((c, k) => Math.Max(c.Length, all.Count == 0 ? 0 : all.Max(r => r[k].Length))).ToArray();
            _out.WriteLine("  " + string.Join("  ", columns.Select((c, k) => c.PadLeft(widths[k]))));
            foreach (var r in all) _out.WriteLine("  " + string.Join("  ", r.Select((c, k) => c.PadLeft(widths[k]))));
            return;
        }
        var table = new Table().Title(Markup.Escape(title));
        foreach (var c in columns) table.AddColumn(new TableColumn(Markup.Escape(c)).RightAligned());
        foreach (var r in all) table.AddRow(r.Select(Markup.Escape).ToArray());
        _console.Write(table);
    }
}

/// <summary>One progress bar (or, with <c>--quiet</c>, a log line at every tenth of the way, with the latest description).</summary>
public sealed class ProgressTask
{
    private readonly TextWriter? _plain;
    private readonly Spectre.Console.ProgressTask? _task;
    private string _description;
    private int _lastDecile = -1;

    internal ProgressTask(string description, double total, TextWriter? plain, Spectre.Console.ProgressTask? task)
    {
        _description = description;
        Total = total;
        _plain = plain;
        _task = task;
    }

    /// <summary>The total.</summary>
    public double Total { get; }

    /// <summary>Sets the value (and optionally a new description).</summary>
    public void Report(double value, string? description = null)
    {
        if (description is not null) _description = description;
        if (_task is not null)
        {
            if (description is not null) _task.Description = Markup.Escape(description);
            _task.Value = value;
            return;
        }
        int decile = Total <= 0 ? 10 : (int)Math.Floor(10 * Math.Min(value, Total) / Total);
        if (decile != _lastDecile)
        {
            _lastDecile = decile;
            _plain!.WriteLine($"{_description}: {value:0.##}/{Total:0.##}");
        }
    }
}
