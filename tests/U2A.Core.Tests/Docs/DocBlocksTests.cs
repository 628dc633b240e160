using System.Reflection;

namespace U2A.Core.Tests.Docs;

/// <summary>
/// Every <c>```csharp</c> block of README.md and docs/*.md is compiled: it must equal (lines trimmed, blank lines ignored)
/// a region between <c>// BEGIN name</c> and <c>// END name</c> in some .cs file under tests/ (the example files of this
/// folder, the test kit's tests). Every other fenced block must say its language.
/// </summary>
public class DocBlocksTests
{
    /// <summary>A fenced block of a Markdown page.</summary>
    public sealed record DocBlock(string File, int Line, string Language, IReadOnlyList<string> Lines);

    /// <summary>A marked region of a source file.</summary>
    public sealed record Region(string File, int Line, string Name, IReadOnlyList<string> Lines);

    private static readonly string[] CSharpTags = { "csharp", "cs", "c#" };

    internal static string RepoRoot => typeof(DocBlocksTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RepoRoot").Value!;

    /// <summary>The fenced blocks of a page (fences may be indented, as in list items).</summary>
    public static IReadOnlyList<DocBlock> FencedBlocks(string file, string text)
    {
        var blocks = new List<DocBlock>();
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var open = lines[i].TrimStart();
            if (!open.StartsWith("```", StringComparison.Ordinal)) continue;
            int start = i;
            var body = new List<string>();
            for (i++; i < lines.Length && lines[i].Trim() != "```"; i++) body.Add(lines[i]);
            if (i == lines.Length) throw new InvalidDataException($"{file}:{start + 1}: a fenced block is never closed.");
            blocks.Add(new DocBlock(file, start + 1, open[3..].Trim(), body));
        }
        return blocks;
    }

    /// <summary>The regions between <c>// BEGIN name</c> and <c>// END name</c> of a source file (regions may nest; marker lines are left out).</summary>
    public static IReadOnlyList<Region> MarkedRegions(string file, string text)
    {
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        var regions = new List<Region>();
        var open = new Dictionary<string, int>();
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.StartsWith("// BEGIN ", StringComparison.Ordinal))
            {
                var name = line["// BEGIN ".Length..].Trim();
                if (!open.TryAdd(name, i)) throw new InvalidDataException($"{file}:{i + 1}: region '{name}' begins twice.");
            }
            else if (line.StartsWith("// END ", StringComparison.Ordinal))
            {
                var name = line["// END ".Length..].Trim();
                if (!open.Remove(name, out int begin)) throw new InvalidDataException($"{file}:{i + 1}: region '{name}' ends but never began.");
                var body = lines[(begin + 1)..i].Where(l => !IsMarker(l)).ToArray();
                regions.Add(new Region(file, begin + 1, name, body));
            }
        }
        if (open.Count > 0)
            throw new InvalidDataException($"{file}: region(s) never ended: {string.Join(", ", open.Select(o => $"'{o.Key}' (line {o.Value + 1})"))}.");
        return regions;
    }

    private static bool IsMarker(string line)
    {
        var t = line.Trim();
        return t.StartsWith("// BEGIN ", StringComparison.Ordinal) || t.StartsWith("// END ", StringComparison.Ordinal);
    }

    /// <summary>Lines trimmed, blank lines dropped, joined.</summary>
    public static string Normalize(IEnumerable<string> lines) =>
        string.Join("\n", lines.Select(l => l.Trim()).Where(l => l.Length > 0));

    /// <summary>The problems of a set of pages against a set of regions: one line per uncompiled C# block or untagged block.</summary>
    public static IReadOnlyList<string> Problems(IEnumerable<DocBlock> blocks, IEnumerable<Region> regions)
    {
        var compiled = regions.Select(r => Normalize(r.Lines)).ToHashSet(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var block in blocks)
        {
            if (block.Language.Length == 0)
                problems.Add($"{block.File}:{block.Line}: a fenced block without a language tag (```text, ```bash, ```xml, ```json, ```csharp).");
            // A block may show its own BEGIN/END marker lines (a whole example file); they are not part of the compared body.
            else if (CSharpTags.Contains(block.Language, StringComparer.OrdinalIgnoreCase) && !compiled.Contains(Normalize(block.Lines.Where(l => !IsMarker(l)))))
                problems.Add($"{block.File}:{block.Line}: this ```{block.Language} block is not the body of any // BEGIN / // END region " +
                    "of a .cs file under tests/, so nothing compiles it (copy it verbatim into an example under tests/U2A.Core.Tests/Docs).");
        }
        return problems;
    }

    private static IEnumerable<string> Pages(string root) =>
        new[] { Path.Combine(root, "README.md") }.Concat(Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Order(StringComparer.Ordinal));

    private static IEnumerable<string> SourceFiles(string root) =>
        Directory.EnumerateFiles(Path.Combine(root, "tests"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar).Any(p => p is "bin" or "obj"));

    private static string Relative(string root, string path) => Path.GetRelativePath(root, path).Replace('\\', '/');

    [Fact]
    public void Every_csharp_block_of_the_docs_is_compiled_and_every_other_block_is_tagged()
    {
        string root = RepoRoot;
        var blocks = Pages(root).SelectMany(p => FencedBlocks(Relative(root, p), File.ReadAllText(p))).ToList();
        var regions = SourceFiles(root).SelectMany(f => MarkedRegions(Relative(root, f), File.ReadAllText(f))).ToList();
        Assert.Contains(blocks, b => b.File == "README.md" && CSharpTags.Contains(b.Language)); // the scan sees the pages
        var problems = Problems(blocks, regions);
        Assert.True(problems.Count == 0, $"{problems.Count} doc block(s) not compiled or not tagged:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void Every_region_of_the_doc_examples_is_shown_in_some_doc()
    {
        string root = RepoRoot;
        var shown = Pages(root).SelectMany(p => FencedBlocks(Relative(root, p), File.ReadAllText(p)))
            .Where(b => CSharpTags.Contains(b.Language)).Select(b => Normalize(b.Lines)).ToHashSet(StringComparer.Ordinal);
        var stale = Directory.GetFiles(Path.Combine(root, "tests", "U2A.Core.Tests", "Docs"), "*.cs")
            .SelectMany(f => MarkedRegions(Relative(root, f), File.ReadAllText(f)))
            .Where(r => !shown.Contains(Normalize(r.Lines)))
            .Select(r => $"{r.File}:{r.Line}: region '{r.Name}' is in no ```csharp block of README.md or docs/*.md (the doc changed; update the example or remove the region)")
            .ToList();
        Assert.True(stale.Count == 0, string.Join("\n", stale));
    }

    [Fact]
    public void The_scanner_reports_an_uncompiled_block_with_its_file_and_line_and_accepts_a_compiled_one()
    {
        const string page = "# Page\n\n```csharp\nvar x = 1;\n\n   var y = x + 1;\n```\n\ntext\n\n  ```csharp\n  var z = 3;\n  ```\n\n```\nuntagged\n```\n\n```bash\nls\n```\n";
        const string source = "class C {\n  void M() {\n    int x0 = 0;\n    // BEGIN two lines\n    var x = 1;\n    var y = x + 1;\n    // END two lines\n  }\n}\n";
        var blocks = FencedBlocks("docs/page.md", page);
        Assert.Equal(new[] { 3, 11, 15, 19 }, blocks.Select(b => b.Line));
        Assert.Equal(new[] { "csharp", "csharp", "", "bash" }, blocks.Select(b => b.Language));
        var regions = MarkedRegions("tests/C.cs", source);
        Assert.Equal("two lines", Assert.Single(regions).Name);

        var problems = Problems(blocks, regions);
        Assert.Equal(2, problems.Count);
        Assert.StartsWith("docs/page.md:11: this ```csharp block is not the body", problems[0]);
        Assert.StartsWith("docs/page.md:15: a fenced block without a language tag", problems[1]);

        Assert.Throws<InvalidDataException>(() => MarkedRegions("tests/D.cs", "// BEGIN a\nx\n"));
        Assert.Throws<InvalidDataException>(() => FencedBlocks("docs/e.md", "```csharp\nx\n"));
    }
}
