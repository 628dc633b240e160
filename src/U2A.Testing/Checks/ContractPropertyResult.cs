namespace U2A.Testing;

/// <summary>The outcome of one property of an <see cref="UnlearnerContract"/>.</summary>
/// <param name="Property">The property's name (one of the <see cref="UnlearnerContract"/> constants).</param>
/// <param name="Checked">False when an earlier failure made the property impossible to check.</param>
/// <param name="Passed">Whether it was checked and holds.</param>
/// <param name="Detail">The numbers behind the verdict, or why it was not checked.</param>
public sealed record ContractPropertyResult(string Property, bool Checked, bool Passed, string Detail)
{
    /// <inheritdoc />
    public override string ToString() => $"{Property}: {(!Checked ? "not checked" : Passed ? "ok" : "FAILED")} ({Detail})";
}
