namespace U2A.Core.Selection;

internal static class SelectionGuard
{
    public static void Validate(SelectionRequest request, int k)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Scores.Count == 0) throw new ArgumentException("the pool is empty: there are no scores to select from.", nameof(request));
        if (k > request.Scores.Count)
            throw new ArgumentException($"k = {k} is larger than the pool of {request.Scores.Count} examples.", nameof(request));
        for (int i = 0; i < request.Scores.Count; i++)
            if (!double.IsFinite(request.Scores[i])) throw new ArgumentException($"score {i} is not finite ({request.Scores[i]}).", nameof(request));
    }

    /// <summary>Indices by descending score, ties by ascending index.</summary>
    public static IEnumerable<int> Descending(IReadOnlyList<double> scores) =>
        Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ThenBy(i => i);
}
