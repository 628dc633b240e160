using TorchSharp.Modules;
using U2A.Core.Unlearning;
using Xunit;
using static TorchSharp.torch;

namespace U2A.Testing.Tests.Checks;

public class GradientCheckTests
{
    private static Parameter[] Parameters(ScalarType dtype = ScalarType.Float64)
    {
        var gen = new Generator(7);
        return new[] { new Parameter(randn(3, 4, dtype: dtype, generator: gen)), new Parameter(randn(5, dtype: dtype, generator: gen)) };
    }

    private static Tensor Smooth(Parameter[] p) => p[0].pow(3).sum() + (p[0].sum() * p[1]).sin().sum();

    [Fact]
    public void Passes_for_a_smooth_function_of_a_parameter_list_and_checks_every_element_when_there_are_few()
    {
        var p = Parameters();
        var report = GradientCheck.Run(p, () => Smooth(p), new GradientCheckOptions { Coordinates = 100 });
        report.ThrowIfFailed();
        Assert.Equal(17, report.CoordinatesChecked); // 12 + 5 elements, each once
        Assert.True(report.MaxRelativeError < 1e-7, report.ToString());
    }

    [Fact]
    public void Fails_for_a_wrong_gradient_from_a_detach_trick_naming_the_worst_coordinate()
    {
        var p = Parameters();
        // The value is sum x^3, but the detach trick makes autograd see sum x^2: the gradient is 2x instead of 3x^2.
        Tensor Wrong() => (p[0].pow(3) - p[0].pow(2)).detach().sum() + p[0].pow(2).sum() + p[1].sum();
        var report = GradientCheck.Run(p, Wrong, new GradientCheckOptions { Coordinates = 8 });
        Assert.False(report.Passed);
        var ex = Assert.Throws<U2ACheckException>(report.ThrowIfFailed);
        Assert.Contains("GradientCheck FAILED", ex.Message);
        Assert.Contains($"worst: parameter 0 [{string.Join(", ", report.Worst!.Element)}]", ex.Message);
        Assert.Equal(0, report.Worst.ParameterIndex);
        double x = p[0][report.Worst.Element.Select(i => TensorIndex.Single(i)).ToArray()].item<double>();
        Assert.Equal(3 * x * x, report.Worst.FiniteDifference, 1e-6);
        Assert.Equal(2 * x, report.Worst.Autograd, 12);
        Assert.All(report.Coordinates.Where(c => c.ParameterIndex == 1), c => Assert.True(c.Passed)); // the honest part passes
    }

    [Fact]
    public void Fails_for_a_function_without_autograd_graph()
    {
        var p = Parameters();
        var report = GradientCheck.Run(p, () => Smooth(p).detach(), new GradientCheckOptions { Coordinates = 4 });
        Assert.False(report.Passed);
        Assert.Contains("no autograd graph", Assert.Throws<U2ACheckException>(report.ThrowIfFailed).Message);
    }

    [Fact]
    public void Fails_for_a_function_that_is_not_deterministic()
    {
        var p = Parameters();
        int calls = 0;
        var report = GradientCheck.Run(p, () => Smooth(p) + 1e-3 * calls++, new GradientCheckOptions { Coordinates = 2 });
        Assert.False(report.Passed);
        Assert.Contains("not deterministic", report.ToString());
    }

    [Fact]
    public void Refuses_float32_parameters_telling_to_build_the_model_in_float64()
    {
        using var model = TinyModels.Gpt2(0);
        var ex = Assert.Throws<ArgumentException>(() => GradientCheck.Run(model, () => model.TrainableParameters[0].sum()));
        Assert.Contains("float64", ex.Message);
        Assert.Contains("Float64", ex.Message);
        var p = Parameters();
        Assert.Contains("float64 scalar", Assert.Throws<ArgumentException>(() => GradientCheck.Run(p, () => Smooth(p).to_type(ScalarType.Float32))).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientCheck.Run(p, () => Smooth(p), new GradientCheckOptions { Step = 0 }));
    }

    [Fact]
    public void Restores_the_parameters_bit_for_bit_and_picks_the_same_coordinates_for_the_same_seed()
    {
        var p = Parameters();
        var before = TestData.Values(p);
        var a = GradientCheck.Run(p, () => Smooth(p), new GradientCheckOptions { Coordinates = 6, Seed = 3 });
        Assert.Equal(before, TestData.Values(p));
        var b = GradientCheck.Run(p, () => Smooth(p), new GradientCheckOptions { Coordinates = 6, Seed = 3 });
        Assert.Equal(a.Coordinates.Select(c => c.Location), b.Coordinates.Select(c => c.Location));
        Assert.Equal(6, a.Coordinates.Select(c => c.Location).Distinct().Count());
        Assert.Contains(a.Coordinates, c => c.ParameterIndex == 0);
        Assert.Contains(a.Coordinates, c => c.ParameterIndex == 1); // spread over the parameters
    }

    [Theory]
    [InlineData("GradAscent")]
    [InlineData("NPO")]
    [InlineData("SimNPO")]
    public void Passes_for_the_weighted_inner_objective_of_the_library_strategies_on_a_tiny_gpt2(string strategy)
    {
        var unlearner = TestData.Strategy(strategy);
        using var model = TinyModels.Gpt2(seed: 0, dtype: ScalarType.Float64);
        using var pool = TestData.Pool(unlearner, 3, seed: 4);
        using var inner = new InnerObjective(unlearner);
        using var weights = tensor(new[] { 0.2, 0.5, 0.3 }, dtype: ScalarType.Float64);
        var before = TestData.Values(model);
        var report = GradientCheck.Run(model, () => inner.Value(model, pool, weights), new GradientCheckOptions { Coordinates = 12 });
        report.ThrowIfFailed();
        Assert.Equal(12, report.CoordinatesChecked);
        Assert.Equal(before, TestData.Values(model));
    }
}
