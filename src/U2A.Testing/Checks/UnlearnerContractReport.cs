namespace U2A.Testing;

/// <summary>The result of <see cref="UnlearnerContract.Run"/>: one entry per property.</summary>
public sealed class UnlearnerContractReport
{
    internal UnlearnerContractReport(string unlearnerName, IReadOnlyList<ContractPropertyResult> properties)
    {
        UnlearnerName = unlearnerName;
        Properties = properties;
    }

    /// <summary>The checked strategy's name.</summary>
    public string UnlearnerName { get; }

    /// <summary>Every property, in the order checked.</summary>
    public IReadOnlyList<ContractPropertyResult> Properties { get; }

    /// <summary>Whether every property was checked and holds.</summary>
    public bool Passed => Properties.All(p => p.Checked && p.Passed);

    /// <summary>The properties that failed.</summary>
    public IEnumerable<ContractPropertyResult> Failures => Properties.Where(p => p.Checked && !p.Passed);

    /// <summary>The result of the property named <paramref name="property"/>.</summary>
    /// <exception cref="KeyNotFoundException">No property has that name.</exception>
    public ContractPropertyResult this[string property] =>
        Properties.FirstOrDefault(p => p.Property == property) ?? throw new KeyNotFoundException($"no property named '{property}' in the report.");

    /// <summary>Throws <see cref="U2ACheckException"/> with <see cref="ToString"/> as its message unless <see cref="Passed"/>.</summary>
    public void ThrowIfFailed()
    {
        if (!Passed) throw new U2ACheckException(ToString());
    }

    /// <summary>The verdict and every property with its numbers, one per line.</summary>
    public override string ToString() =>
        $"UnlearnerContract for '{UnlearnerName}' {(Passed ? "passed" : "FAILED")}:" + string.Concat(Properties.Select(p => $"\n  {p}"));
}
