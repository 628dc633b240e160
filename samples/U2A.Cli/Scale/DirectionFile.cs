using System.Globalization;
using U2A.Core.Influence;
using U2A.Core.Models.Checkpoints;
using static TorchSharp.torch;

namespace U2A.Cli.Scale;

/// <summary>
/// The hypergradient direction <c>v ~ H^-1 grad J</c> at the starting parameters, as safetensors: one tensor per trainable
/// parameter (<c>v.0000</c>, <c>v.0001</c>, ... in the model's trainable-parameter order) and metadata <c>format=u2a-direction</c>,
/// the fingerprint parts, the canonical options, the pool size and the estimator's diagnostics.
/// </summary>
public static class DirectionFile
{
    /// <summary>The metadata format tag.</summary>
    public const string Format = "u2a-direction";

    /// <summary>Writes a single-term direction taken at the current parameters.</summary>
    public static void Save(string path, InfluenceDirection direction, Fingerprint fingerprint, string options, int poolCount)
    {
        if (direction.Terms.Count != 1 || direction.Terms[0].Point is not null)
            throw new CliFailure("only a direction at the current parameters (identity, cg, neumann) can be written.");
        var tensors = new Dictionary<string, Tensor>();
        var v = direction.Terms[0].Direction;
        for (int i = 0; i < v.Count; i++) tensors[Name(i)] = v[i];
        var metadata = new Dictionary<string, string>(fingerprint.ToMetadata())
        {
            ["format"] = Format, ["options"] = options, ["pool_count"] = poolCount.ToString(CultureInfo.InvariantCulture),
            ["parameters"] = v.Count.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (k, x) in direction.Diagnostics) metadata["diagnostics." + k] = x.ToString("R", CultureInfo.InvariantCulture);
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        SafetensorsFile.Save(path, tensors, metadata);
    }

    /// <summary>Reads the metadata only.</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        if (!File.Exists(path)) throw new UsageException("--direction", $"the file '{path}' does not exist.");
        var (_, metadata, _) = SafetensorsFile.ReadHeader(path);
        if (!metadata.TryGetValue("format", out var f) || f != Format)
            throw new UsageException("--direction", $"'{path}' is not a direction written by u2a prepare (metadata format is '{f}', expected '{Format}').");
        return metadata;
    }

    /// <summary>Checks the fingerprint against <paramref name="expected"/>, then loads v onto <paramref name="device"/> in <paramref name="dtype"/>.</summary>
    public static InfluenceDirection Load(string path, Fingerprint expected, Device device, ScalarType dtype)
    {
        var metadata = ReadMetadata(path);
        var saved = Fingerprint.FromMetadata(metadata)
            ?? throw new UsageException("--direction", $"'{path}' has no fingerprint in its metadata.");
        var diff = saved.Differences(expected);
        if (diff.Count > 0)
            throw new UsageException("--direction", $"'{path}' was prepared for other inputs: {string.Join(", ", diff)} differ from this command's. " +
                "Score with exactly the model, files and options given to u2a prepare.");
        int count = int.Parse(metadata["parameters"], CultureInfo.InvariantCulture);
        var loaded = SafetensorsFile.Load(path, device, dtype);
        var v = Enumerable.Range(0, count).Select(i => loaded.TryGetValue(Name(i), out var t) ? t
            : throw new CliFailure($"{path}: the tensor {Name(i)} is missing.")).ToArray();
        return new InfluenceDirection(new[] { new InfluenceTerm(null, v) });
    }

    private static string Name(int i) => "v." + i.ToString("D4", CultureInfo.InvariantCulture);
}
