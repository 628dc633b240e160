namespace U2A.Core.Tokenization;

/// <summary><c>Sequence</c>: each pre-tokenizer splits the pieces of the previous one.</summary>
internal sealed class HfSequencePreTokenizer(IReadOnlyList<HfPreTokenizer> steps) : HfPreTokenizer
{
    public override bool ByteLevel => steps.Any(s => s.ByteLevel);

    public override void Split(string piece, bool first, List<string> output)
    {
        var current = new List<string> { piece };
        var next = new List<string>();
        foreach (var step in steps)
        {
            next.Clear();
            for (int k = 0; k < current.Count; k++) step.Split(current[k], first && k == 0, next);
            (current, next) = (next, current);
        }
        output.AddRange(current);
    }
}
