using System.Text;

namespace U2A.Core.Tokenization;

/// <summary>
/// The added tokens recognised in text: at each position the longest token starting there (leftmost first), as
/// Hugging Face's leftmost-longest Aho-Corasick search; then <c>single_word</c>, <c>lstrip</c> and <c>rstrip</c>.
/// </summary>
internal sealed class HfTokenTrie
{
    private sealed class Node
    {
        public Dictionary<char, Node>? Children;
        public HfAddedToken? Token;
    }

    private readonly Node _root = new();

    public bool IsEmpty => _root.Children is null;

    public void Add(string content, HfAddedToken token)
    {
        var node = _root;
        foreach (char c in content)
        {
            node.Children ??= new Dictionary<char, Node>();
            if (!node.Children.TryGetValue(c, out var child)) node.Children[c] = child = new Node();
            node = child;
        }
        node.Token ??= token; // the first token of a content wins
    }

    /// <summary>Sections of <paramref name="text"/>: (start, end, id) with id -1 for plain text.</summary>
    public void Split(string text, List<(int Start, int End, int Id)> sections)
    {
        if (IsEmpty)
        {
            if (text.Length > 0) sections.Add((0, text.Length, -1));
            return;
        }
        int sectionStart = 0, i = 0;
        var rootChildren = _root.Children!;
        while (i < text.Length)
        {
            if (!rootChildren.ContainsKey(text[i])) { i++; continue; }
            HfAddedToken? found = null;
            int foundEnd = -1;
            var node = _root;
            for (int j = i; j < text.Length && node.Children is not null && node.Children.TryGetValue(text[j], out node); j++)
                if (node.Token is not null) { found = node.Token; foundEnd = j + 1; }
            if (found is null) { i++; continue; }
            int start = i, end = foundEnd;
            if (found.SingleWord && ((start > 0 && IsWordChar(text, start - 1, before: true)) || (end < text.Length && IsWordChar(text, end, before: false))))
            {
                i = end; // discarded, and the search goes on after it (as a non-overlapping search does)
                continue;
            }
            if (found.LStrip) while (start > sectionStart && char.IsWhiteSpace(text[start - 1])) start--;
            if (found.RStrip) while (end < text.Length && char.IsWhiteSpace(text[end])) end++;
            if (start > sectionStart) sections.Add((sectionStart, start, -1));
            sections.Add((start, end, found.Id));
            sectionStart = i = end;
        }
        if (sectionStart < text.Length) sections.Add((sectionStart, text.Length, -1));
    }

    private static bool IsWordChar(string text, int at, bool before)
    {
        Rune rune;
        if (before) { if (Rune.DecodeLastFromUtf16(text.AsSpan(0, at + 1), out rune, out _) != System.Buffers.OperationStatus.Done) return false; }
        else if (Rune.DecodeFromUtf16(text.AsSpan(at), out rune, out _) != System.Buffers.OperationStatus.Done) return false;
        return Rune.IsLetterOrDigit(rune) || rune.Value == '_';
    }
}
