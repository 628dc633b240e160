namespace U2A.Core.Models.Lora;

/// <summary>Orders module paths segment by segment, numeric segments as numbers (<c>blocks.2</c> before <c>blocks.10</c>).</summary>
internal sealed class ModulePathComparer : IComparer<string>
{
    public static readonly ModulePathComparer Instance = new();

    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        if (x is null) return -1;
        if (y is null) return 1;
        var xs = x.Split('.');
        var ys = y.Split('.');
        for (int i = 0; i < Math.Min(xs.Length, ys.Length); i++)
        {
            int c = long.TryParse(xs[i], out var a) && long.TryParse(ys[i], out var b) ? a.CompareTo(b) : string.CompareOrdinal(xs[i], ys[i]);
            if (c != 0) return c;
        }
        return xs.Length.CompareTo(ys.Length);
    }
}
