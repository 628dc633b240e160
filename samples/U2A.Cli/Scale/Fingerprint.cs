using System.Security.Cryptography;
using System.Text;
using U2A.Cli.Pipeline;

namespace U2A.Cli.Scale;

/// <summary>
/// What a hypergradient direction and its scores depend on, as SHA-256 digests (lower-case hex): the model's parameters (every
/// checkpoint tensor: name, dtype, shape and bytes, in the model's fixed order), the pool file, the preference file and the
/// canonical options (<see cref="PipelineSettings.CanonicalOptions"/>). <see cref="Combined"/> hashes the four.
/// </summary>
public sealed record Fingerprint(string Model, string Pool, string Prefs, string Options)
{
    /// <summary>The digest of the four parts.</summary>
    public string Combined => Sha256Hex(Encoding.UTF8.GetBytes($"model={Model}\npool={Pool}\nprefs={Prefs}\noptions={Options}\n"));

    /// <summary>The fingerprint of an opened session with its pool and preference files.</summary>
    public static Fingerprint Compute(Session session, string poolFile, string prefsFile)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var binding in session.Base.HfTensors)
        {
            using var cpu = binding.Parameter.detach().cpu().contiguous();
            hash.AppendData(Encoding.UTF8.GetBytes($"{binding.Name}|{cpu.dtype}|{string.Join(",", cpu.shape)}|"));
            if (cpu.numel() > 0) hash.AppendData(cpu.bytes);
        }
        string options = session.Settings.CanonicalOptions(session.Base.Config.ModelType);
        return new Fingerprint(Convert.ToHexStringLower(hash.GetHashAndReset()), FileSha256(poolFile), FileSha256(prefsFile),
            Sha256Hex(Encoding.UTF8.GetBytes(options)));
    }

    /// <summary>SHA-256 of a file's bytes.</summary>
    public static string FileSha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static string Sha256Hex(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>The parts as metadata entries (<c>fingerprint</c>, <c>fingerprint.model</c>, ...).</summary>
    public IEnumerable<KeyValuePair<string, string>> ToMetadata() =>
    [
        new("fingerprint", Combined), new("fingerprint.model", Model), new("fingerprint.pool", Pool),
        new("fingerprint.prefs", Prefs), new("fingerprint.options", Options),
    ];

    /// <summary>Reads the parts back; null when any is missing.</summary>
    public static Fingerprint? FromMetadata(IReadOnlyDictionary<string, string> metadata) =>
        metadata.TryGetValue("fingerprint.model", out var m) && metadata.TryGetValue("fingerprint.pool", out var p)
        && metadata.TryGetValue("fingerprint.prefs", out var q) && metadata.TryGetValue("fingerprint.options", out var o)
            ? new Fingerprint(m, p, q, o) : null;

    /// <summary>The parts that differ from <paramref name="other"/>, in words (empty when equal).</summary>
    public IReadOnlyList<string> Differences(Fingerprint other)
    {
        var d = new List<string>();
        if (Model != other.Model) d.Add("the model parameters (--model)");
        if (Pool != other.Pool) d.Add("the pool file (--pool)");
        if (Prefs != other.Prefs) d.Add("the preference file (--prefs)");
        if (Options != other.Options) d.Add("the options (format, template, max length, unlearner, estimator, scoring, chunk size, LoRA, seed)");
        return d;
    }
}
