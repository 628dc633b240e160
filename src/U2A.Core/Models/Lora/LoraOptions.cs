namespace U2A.Core.Models.Lora;

/// <summary>
/// Settings of a LoRA adapter set: which <c>nn.Linear</c> submodules get adapters, their rank, scaling, dropout
/// and the seed of their initialisation. The update of a targeted layer is <c>(Alpha / Rank) * B A</c>.
/// </summary>
/// <remarks>
/// A target name is matched against the last segment of a module path: <c>"c_attn"</c> matches
/// <c>blocks.0.c_attn</c> and <c>blocks.1.c_attn</c>. Every target name must match at least one <c>nn.Linear</c>.
/// </remarks>
public sealed record LoraOptions
{
    /// <summary>Names of the <c>nn.Linear</c> submodules to adapt (last path segment), for example <c>q_proj</c>, <c>v_proj</c> or <c>c_attn</c>.</summary>
    public IReadOnlyList<string> TargetModules { get; init; } = new[] { "q_proj", "v_proj" };

    /// <summary>Rank r of the update: A is [r, in] and B is [out, r]. At least 1.</summary>
    public int Rank { get; init; } = 8;

    /// <summary>Scaling numerator: the update is multiplied by <c>Alpha / Rank</c>. Positive and finite.</summary>
    public double Alpha { get; init; } = 16;

    /// <summary>Dropout probability on the adapter branch's input in training mode, in [0, 1).
    /// Values above 0 need the model to invoke its linear layers through <c>call()</c> (see docs/lora.md).</summary>
    public double Dropout { get; init; }

    /// <summary>Seed of the random initialisation of every A (B starts at zero).</summary>
    public long Seed { get; init; }

    /// <summary>The factor <c>Alpha / Rank</c> applied to <c>B A</c>.</summary>
    public double Scale => Alpha / Rank;

    /// <summary>Throws <see cref="ArgumentException"/> naming the offending field when a setting is invalid.</summary>
    public void Validate()
    {
        Require.That(TargetModules is { Count: > 0 }, "LoraOptions.TargetModules", "none",
            "must name at least one module (for example q_proj, v_proj or c_attn)");
        foreach (var name in TargetModules)
        {
            Require.That(!string.IsNullOrWhiteSpace(name), "LoraOptions.TargetModules", "an empty name", "must not contain an empty name");
            Require.That(name.IndexOfAny(new[] { '.', ',' }) < 0 && !name.Any(char.IsWhiteSpace), "LoraOptions.TargetModules", $"'{name}'",
                "must hold single path segments (no '.', ',' or spaces), matched against the last segment of a module path");
        }
        Require.That(TargetModules.Distinct(StringComparer.Ordinal).Count() == TargetModules.Count, "LoraOptions.TargetModules",
            $"[{string.Join(", ", TargetModules)}]", "must not list a name twice");
        Require.AtLeastOne(Rank, "LoraOptions.Rank");
        Require.Positive(Alpha, "LoraOptions.Alpha");
        Require.That(double.IsFinite(Dropout) && Dropout >= 0 && Dropout < 1, "LoraOptions.Dropout", Dropout, "must lie in [0, 1)");
    }
}
