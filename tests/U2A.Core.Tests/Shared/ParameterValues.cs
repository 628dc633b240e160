using U2A.Core.Models;

namespace U2A.Core.Tests.Shared;

/// <summary>Host copies of a model's trainable parameters, for comparing runs and checking that training changed them.</summary>
internal static class ParameterValues
{
    /// <summary>The float32 values of every trainable parameter of <paramref name="model"/>, in order.</summary>
    public static float[][] Of(ICausalLM model) => model.TrainableParameters.Select(p => p.detach().cpu().data<float>().ToArray()).ToArray();

    /// <summary>The largest absolute elementwise difference between two parameter lists of the same shapes.</summary>
    public static double MaxAbsDifference(float[][] a, float[][] b)
    {
        Assert.Equal(a.Length, b.Length);
        double max = 0;
        for (int i = 0; i < a.Length; i++)
        {
            Assert.Equal(a[i].Length, b[i].Length);
            for (int j = 0; j < a[i].Length; j++) max = Math.Max(max, Math.Abs((double)a[i][j] - b[i][j]));
        }
        return max;
    }
}
