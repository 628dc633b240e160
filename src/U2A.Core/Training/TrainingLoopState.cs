using System.Text;

namespace U2A.Core.Training;

/// <summary>
/// Everything a <see cref="TrainingLoop"/> needs, besides the parameter values themselves, to continue a run
/// bitwise-identically: the number of completed steps, the optimizer state (moments, step counts, learning rates)
/// in TorchSharp's own format, and the CPU generator state of torch. Parameter values are saved separately (a
/// model checkpoint); restore both.
/// </summary>
/// <param name="CompletedSteps">Optimizer steps completed.</param>
/// <param name="ParameterCount">Number of parameters the optimizer holds (checked on restore).</param>
/// <param name="ParameterElements">Total elements of those parameters (checked on restore).</param>
/// <param name="OptimizerState">TorchSharp's <c>save_state_dict</c> bytes.</param>
/// <param name="CpuRngState">torch's default CPU generator state (<c>torch.get_rng_state()</c>), or null to leave it alone on restore.</param>
internal sealed record TrainingLoopState(int CompletedSteps, int ParameterCount, long ParameterElements, byte[] OptimizerState, byte[]? CpuRngState)
{
    private const string Magic = "U2A.TrainingLoopState";
    private const int Version = 1;

    /// <summary>Writes the state to <paramref name="stream"/> (a small versioned binary format).</summary>
    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(Version);
        w.Write(CompletedSteps);
        w.Write(ParameterCount);
        w.Write(ParameterElements);
        w.Write(OptimizerState.Length);
        w.Write(OptimizerState);
        w.Write(CpuRngState is not null);
        if (CpuRngState is not null)
        {
            w.Write(CpuRngState.Length);
            w.Write(CpuRngState);
        }
    }

    /// <summary>Reads a state written by <see cref="WriteTo"/>.</summary>
    public static TrainingLoopState ReadFrom(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var r = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        if (r.ReadString() != Magic) throw new InvalidDataException("not a U2A training-loop state.");
        int version = r.ReadInt32();
        if (version != Version) throw new InvalidDataException($"unsupported training-loop state version {version}.");
        int steps = r.ReadInt32(), count = r.ReadInt32();
        long elements = r.ReadInt64();
        var opt = ReadBytes(r);
        var rng = r.ReadBoolean() ? ReadBytes(r) : null;
        return new TrainingLoopState(steps, count, elements, opt, rng);
    }

    private static byte[] ReadBytes(BinaryReader r)
    {
        int n = r.ReadInt32();
        if (n < 0) throw new InvalidDataException($"negative length {n}.");
        var bytes = r.ReadBytes(n);
        if (bytes.Length != n) throw new EndOfStreamException($"expected {n} bytes, got {bytes.Length}.");
        return bytes;
    }
}
