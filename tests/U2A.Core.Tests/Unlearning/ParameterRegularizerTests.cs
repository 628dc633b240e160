using U2A.Core.Unlearning;
using static TorchSharp.torch;
using static U2A.Core.Tests.Shared.Fixtures;

namespace U2A.Core.Tests.Unlearning;

public class ParameterRegularizerTests
{
    [Fact]
    public void Value_on_hand_numbers_counts_every_trainable_tensor_in_K()
    {
        using var scope = NewDisposeScope();
        using var model = new LogitsTableLM(new double[1, 2, 2], new[] { 0.0, 0.0 }, new[] { 5.0 });
        using var regularizer = new ParameterRegularizer(model);
        Assert.Equal(0.0, regularizer.Value(model).item<double>());
        using (no_grad())
        {
            model.TrainableParameters[1].copy_(tensor(new[] { 1.0, 2.0 }));
            model.TrainableParameters[2].copy_(tensor(new[] { 2.0 }));
        }
        // Differences [1, 2] and [-3], the logits table unchanged: ||.||^2 = 5 + 9 + 0 = 14 over K = 3 tensors.
        // lambda = 0.1: 0.1 * 14 / 3 = 0.466666667.
        Assert.Equal(0.466666667, regularizer.Value(model).item<double>(), 9);
    }

    [Fact]
    public void Gradient_is_two_lambda_times_the_displacement_over_K()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModel(seed: 11);
        using var regularizer = new ParameterRegularizer(model, new ParameterRegularizerOptions(Lambda: 0.25));
        Perturb(model, 0.1, seed: 12);
        var parameters = model.TrainableParameters;
        var grads = autograd.grad(new[] { regularizer.Value(model) }, parameters.Cast<Tensor>().ToArray());
        int k = parameters.Count;
        for (int i = 0; i < k; i++)
        {
            var expected = (parameters[i].detach() - regularizer.Start[i]) * (2 * 0.25 / k);
            Assert.True(allclose(grads[i], expected, rtol: 1e-12, atol: 1e-15), $"tensor {i}");
        }
    }

    [Fact]
    public void Bad_lambda_is_rejected_with_the_field_named()
    {
        using var scope = NewDisposeScope();
        using var model = TinyModel();
        Assert.Contains("ParameterRegularizerOptions.Lambda",
            Assert.ThrowsAny<ArgumentException>(() => new ParameterRegularizer(model, new ParameterRegularizerOptions(Lambda: -0.1))).Message);
    }
}
