namespace U2A.Core.Tests.Shared;

/// <summary>
/// Tests whose outcome depends on torch's global generator (<c>torch.manual_seed</c>, <c>randn</c> without a
/// generator). xUnit runs other test classes in parallel, and they draw from the same global generator, so these
/// run alone, after the parallel ones.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalRngCollection
{
    public const string Name = "torch global RNG";
}
