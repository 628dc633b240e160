namespace U2A.Core.Tokenization;

/// <summary>Finds the matches of a split pattern in a text: (start, end) pairs in order, not overlapping.</summary>
internal interface IHfMatcher
{
    void Find(string text, List<(int Start, int End)> matches);
}
