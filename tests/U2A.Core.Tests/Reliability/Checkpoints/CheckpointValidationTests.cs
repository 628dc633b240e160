using System.Text.Json.Nodes;
using U2A.Core.Optimization;
using static U2A.Core.Tests.Shared.CheckpointTestKit;

namespace U2A.Core.Tests.Reliability.Checkpoints;

/// <summary>
/// Every inconsistency of a saved state (checksums intact, so only the state is wrong) is refused by Load with an
/// InvalidDataException that names the file, the field and the values.
/// </summary>
public sealed class CheckpointValidationTests : IDisposable
{
    private readonly string _folder = Path.Combine(Directory.CreateTempSubdirectory("u2a-ckpt-valid-").FullName, "ckpt");

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_folder)!, recursive: true);

    private static JsonArray Strings(params string[] values) => new(values.Select(v => (JsonNode)v).ToArray());
    private static JsonArray Ints(params int[] values) => new(values.Select(v => (JsonNode)v).ToArray());

    public static TheoryData<string, string> Cases() => new()
    {
        { "CompletedIterations=-1", "CompletedIterations = -1; it must be at least 0." },
        { "CompletedIterations=5", "History holds 3 records but CompletedIterations = 5 needs 6" },
        { "InitialScores=[]", "InitialScores is empty" },
        { "InitialScores[1]=Infinity", "InitialScores[1] = Infinity; influence scores are finite." },
        { "SelectedIndices=[2,4]", "SelectedIndices[1] = 4 is outside the pool of 4 examples (the length of InitialScores; valid indices are 0..3)." },
        { "SelectedIndices=[-1,0]", "SelectedIndices[0] = -1 is outside the pool of 4 examples" },
        { "SelectedIndices=[2,2]", "SelectedIndices[1] = 2 repeats SelectedIndices[0]; an example is selected at most once." },
        { "Weights=[0.5]", "Weights has 1 entries but SelectedIndices has 2; there is one weight per selected example." },
        { "Weights=[NaN,0.5]", "Weights[0] = NaN; weights are finite and non-negative." },
        { "Weights=[0.5,-0.125]", "Weights[1] = -0.125; weights are finite and non-negative." },
        { "Weights=[abc,0.5]", "Weights[0] = \"abc\" is not a number." },
        { "History[1].Iteration=5", "History[1].Iteration = 5, expected 1" },
        { "History[2].PaScore=NaN", "History[2] has Objective = 0.49999999999999994 and PaScore = NaN; both are finite" },
        { "History[2].Weights=[1]", "History[2].Weights has 1 entries but SelectedIndices has 2." },
        { "History[1].InnerSteps=-3", "History[1].InnerSteps = -3; it must be at least 0." },
        { "BestIteration=3", "BestIteration = 3 is outside 0..CompletedIterations = 2." },
        { "IterationsWithoutImprovement=2", "IterationsWithoutImprovement = 2, but 0 iteration(s) followed BestIteration = 2 (CompletedIterations = 2)." },
        { "ParameterCount=3", "parameters.safetensors: 2 parameter tensors, but the state's ParameterCount is 3." },
        { "ParameterCount=0", "ParameterCount = 0; a checkpoint holds at least one parameter tensor." },
        { "History missing", "not a valid checkpoint state (truncated or corrupt: JSON deserialization for type" },
        { "Weights=null", "not a valid checkpoint state (truncated or corrupt:" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void An_inconsistent_state_is_refused_naming_the_file_the_field_and_the_values(string edit, string expected)
    {
        using (var c = Small(completed: 2)) c.Save(_folder);
        string generation = Generations(_folder)[0];
        EditState(generation, s =>
        {
            switch (edit)
            {
                case "CompletedIterations=-1": s["CompletedIterations"] = -1; break;
                case "CompletedIterations=5": s["CompletedIterations"] = 5; break;
                case "InitialScores=[]": s["InitialScores"] = Strings(); break;
                case "InitialScores[1]=Infinity": s["InitialScores"]![1] = "Infinity"; break;
                case "SelectedIndices=[2,4]": s["SelectedIndices"] = Ints(2, 4); break;
                case "SelectedIndices=[-1,0]": s["SelectedIndices"] = Ints(-1, 0); break;
                case "SelectedIndices=[2,2]": s["SelectedIndices"] = Ints(2, 2); break;
                case "Weights=[0.5]": s["Weights"] = Strings("0.5"); break;
                case "Weights=[NaN,0.5]": s["Weights"] = Strings("NaN", "0.5"); break;
                case "Weights=[0.5,-0.125]": s["Weights"] = Strings("0.5", "-0.125"); break;
                case "Weights=[abc,0.5]": s["Weights"] = Strings("abc", "0.5"); break;
                case "History[1].Iteration=5": s["History"]![1]!["Iteration"] = 5; break;
                case "History[2].PaScore=NaN": s["History"]![2]!["PaScore"] = "NaN"; break;
                case "History[2].Weights=[1]": s["History"]![2]!["Weights"] = Strings("1"); break;
                case "History[1].InnerSteps=-3": s["History"]![1]!["InnerSteps"] = -3; break;
                case "BestIteration=3": s["BestIteration"] = 3; break;
                case "IterationsWithoutImprovement=2": s["IterationsWithoutImprovement"] = 2; break;
                case "ParameterCount=3": s["ParameterCount"] = 3; break;
                case "ParameterCount=0": s["ParameterCount"] = 0; break;
                case "History missing": s.Remove("History"); break;
                case "Weights=null": s["Weights"] = null; break;
                default: throw new ArgumentException(edit);
            }
        });
        var e = Assert.Throws<InvalidDataException>(() => BilevelCheckpoint.Load(_folder));
        Assert.StartsWith(generation, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_state_that_claims_best_parameters_the_manifest_does_not_list_is_refused()
    {
        using (var c = Small(completed: 2, best: false)) c.Save(_folder);
        string generation = Generations(_folder)[0];
        EditState(generation, s => s["HasBest"] = true);
        var e = Assert.Throws<InvalidDataException>(() => BilevelCheckpoint.Load(_folder));
        Assert.Contains("manifest.json: does not list best-parameters.safetensors, but", e.Message);
        Assert.Contains("HasBest = true", e.Message);
    }
}
