namespace U2A.Core.Selection;

/// <summary>
/// Every example whose score is positive (unlearning it is predicted to lower J), highest first, at most
/// <see cref="MaxCount"/>, uniform weights. When no score is positive it falls back to the single best example,
/// so the selection is never empty, and says so in <see cref="ExampleSelection"/>'s size.
/// </summary>
public sealed class PositiveScoreSelector : IExampleSelector
{
    /// <summary>Creates the selector; <paramref name="maxCount"/> null means no cap.</summary>
    public PositiveScoreSelector(int? maxCount = null)
    {
        if (maxCount is { } vmaxCount) Require.AtLeastOne(vmaxCount, "PositiveScoreSelector.maxCount");
        MaxCount = maxCount;
    }

    /// <summary>The cap, or null.</summary>
    public int? MaxCount { get; }

    /// <inheritdoc />
    public string Name => "positive-scores";

    /// <inheritdoc />
    public ExampleSelection Select(SelectionRequest request)
    {
        SelectionGuard.Validate(request, 1);
        var positive = SelectionGuard.Descending(request.Scores).Where(i => request.Scores[i] > 0).Take(MaxCount ?? int.MaxValue).ToArray();
        if (positive.Length == 0) positive = SelectionGuard.Descending(request.Scores).Take(1).ToArray();
        return new ExampleSelection(positive, Enumerable.Repeat(1.0 / positive.Length, positive.Length).ToArray());
    }
}
