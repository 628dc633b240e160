namespace U2A.Core.Selection;

/// <summary>
/// Chooses which negatives to unlearn, and with what starting weights, from their influence scores.
/// </summary>
public interface IExampleSelector
{
    /// <summary>Short name for logs and reports.</summary>
    string Name { get; }

    /// <summary>Selects from the pool described by <paramref name="request"/>. Never returns an empty selection.</summary>
    ExampleSelection Select(SelectionRequest request);

    /// <summary>
    /// Checks, before any scoring work, that this selector can select from a pool of <paramref name="poolSize"/>
    /// examples (a budget k larger than the pool, say). Throws <see cref="ArgumentException"/> naming the field.
    /// </summary>
    void ValidatePool(int poolSize)
    {
    }
}
