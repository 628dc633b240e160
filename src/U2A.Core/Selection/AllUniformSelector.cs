namespace U2A.Core.Selection;

/// <summary>The whole pool with weights 1/N: plain unlearning (GA, NPO, ... on the full forget set), the baseline U2A improves on.</summary>
public sealed class AllUniformSelector : IExampleSelector
{
    /// <inheritdoc />
    public string Name => "all-uniform";

    /// <inheritdoc />
    public ExampleSelection Select(SelectionRequest request)
    {
        SelectionGuard.Validate(request, 1);
        int n = request.Scores.Count;
        return new ExampleSelection(Enumerable.Range(0, n).ToArray(), Enumerable.Repeat(1.0 / n, n).ToArray());
    }
}
