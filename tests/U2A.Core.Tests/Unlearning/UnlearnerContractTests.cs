using U2A.Core.Unlearning;
using U2A.Testing;

namespace U2A.Core.Tests.Unlearning;

/// <summary>
/// The library's own strategies meet the <see cref="IUnlearner"/> contract as the U2A.Testing kit checks it (one loss per
/// example, linear in the weights, rows independent of their batch, finite gradients, attached to the graph), on both
/// tiny architectures. The kit's own tests show each property failing on a strategy written wrongly.
/// </summary>
public class UnlearnerContractTests
{
    public static TheoryData<string, TinyArchitecture> Cases => new()
    {
        { "GradAscent", TinyArchitecture.Gpt2 }, { "GradAscent", TinyArchitecture.Llama },
        { "NpoSummed", TinyArchitecture.Gpt2 }, { "NpoTokenMean", TinyArchitecture.Llama },
        { "SimNpo", TinyArchitecture.Gpt2 }, { "SimNpo", TinyArchitecture.Llama },
    };

    private static IUnlearner Make(string name) => name switch
    {
        "GradAscent" => new GradAscent(),
        "NpoSummed" => new Npo(),
        "NpoTokenMean" => new Npo(new NpoOptions(Form: NpoForm.TokenMeanNll)),
        "SimNpo" => new SimNpo(),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Library_strategies_meet_the_unlearner_contract(string name, TinyArchitecture architecture)
    {
        var report = UnlearnerContract.Run(Make(name), new UnlearnerContractOptions { Architecture = architecture, Seed = 3 });
        report.ThrowIfFailed();
    }
}
