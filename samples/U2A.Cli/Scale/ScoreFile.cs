using System.Globalization;
using System.Text;

namespace U2A.Cli.Scale;

/// <summary>
/// A scores CSV: one metadata line <c># u2a-scores fingerprint=HEX count=N chunk=C [shard=i/n] start=A end=B</c>, the header
/// <c>index,score,source</c>, then one row per pool example of [A, B) in index order. Scores are written in the shortest form that
/// reads back to the same double ("R"), so files compare bitwise. A single-process file and a merged file have no shard field
/// and are byte-identical for the same inputs.
/// </summary>
public sealed record ScoreFile(string Fingerprint, int PoolCount, int ChunkSize, ShardSpec? Shard, int Start, int End,
    IReadOnlyList<ScoreRow> Rows)
{
    /// <summary>The first line's tag.</summary>
    public const string Tag = "# u2a-scores";
    /// <summary>The column header.</summary>
    public const string Header = "index,score,source";

    /// <summary>Writes the file (to a temporary name, then renamed).</summary>
    public void Write(string path)
    {
        var sb = new StringBuilder();
        sb.Append(Tag).Append(" fingerprint=").Append(Fingerprint).Append(" count=").Append(PoolCount).Append(" chunk=").Append(ChunkSize);
        if (Shard is { } s) sb.Append(" shard=").Append(s);
        sb.Append(" start=").Append(Start).Append(" end=").Append(End).Append('\n');
        sb.Append(Header).Append('\n');
        foreach (var r in Rows)
            sb.Append(r.Index.ToString(CultureInfo.InvariantCulture)).Append(',').Append(r.Score.ToString("R", CultureInfo.InvariantCulture))
              .Append(',').Append(Quote(r.Source)).Append('\n');
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        string tmp = path + ".tmp-" + Environment.ProcessId;
        File.WriteAllText(tmp, sb.ToString(), new UTF8Encoding(false));
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Reads a file; <see cref="CliFailure"/> naming the file and line when it is not a scores file.</summary>
    public static ScoreFile Read(string path)
    {
        if (!File.Exists(path)) throw new UsageException("SHARDS", $"the file '{path}' does not exist.");
        var lines = File.ReadAllLines(path, Encoding.UTF8);
        if (lines.Length < 2 || !lines[0].StartsWith(Tag + " ", StringComparison.Ordinal) || lines[1] != Header)
            throw new CliFailure($"{path}: not a u2a scores file (expected '{Tag} ...' and '{Header}' as the first two lines).");
        var fields = lines[0][(Tag.Length + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(f => f.Split('=', 2)).ToDictionary(f => f[0], f => f.Length == 2 ? f[1] : "");
        string Get(string key) => fields.TryGetValue(key, out var v) ? v : throw new CliFailure($"{path}, line 1: the field '{key}' is missing.");
        int Int(string key) => int.TryParse(Get(key), NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v
            : throw new CliFailure($"{path}, line 1: '{key}={Get(key)}' is not a non-negative integer.");
        ShardSpec? shard = null;
        if (fields.ContainsKey("shard"))
        {
            try { shard = ShardSpec.Parse(Get("shard"), "shard"); }
            catch (UsageException e) { throw new CliFailure($"{path}, line 1: {e.Message}"); }
        }
        var rows = new List<ScoreRow>();
        for (int k = 2; k < lines.Length; k++)
        {
            if (lines[k].Length == 0) continue;
            var cells = lines[k].Split(',', 3);
            if (cells.Length < 2 || !int.TryParse(cells[0], NumberStyles.None, CultureInfo.InvariantCulture, out int index)
                || !double.TryParse(cells[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double score))
                throw new CliFailure($"{path}, line {k + 1}: expected 'index,score,source', got '{lines[k]}'.");
            if (!double.IsFinite(score))
                throw new CliFailure($"{path}, line {k + 1}: the score of example {index} is not finite ({cells[1]}); a scores file holds finite scores only.");
            rows.Add(new ScoreRow(index, score, cells.Length == 3 ? Unquote(cells[2]) : ""));
        }
        return new ScoreFile(Get("fingerprint"), Int("count"), Int("chunk"), shard, Int("start"), Int("end"), rows);
    }

    private static string Quote(string s) => s.IndexOfAny([',', '"', '\n', '\r']) < 0 ? s : "\"" + s.Replace("\"", "\"\"") + "\"";

    private static string Unquote(string s) => s.Length >= 2 && s[0] == '"' && s[^1] == '"' ? s[1..^1].Replace("\"\"", "\"") : s;
}

/// <summary>One scored pool example: its index, <c>s_i = -dJ/dw_i</c>, and where it came from (<c>file:line</c>).</summary>
public sealed record ScoreRow(int Index, double Score, string Source);
