namespace U2A.Core.Tests.Shared;

/// <summary>
/// Tests that change a whole-process setting (the Quickstart sets torch's intra-op thread count to 1 so its figures
/// repeat bitwise) run alone, after the parallel ones. Nothing in the library draws from torch's global generator, so
/// no test needs this for randomness.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "serial: whole-process settings";
}
