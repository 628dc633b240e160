using System.Text.Json.Nodes;
using TorchSharp;
using U2A.Core.Models.Checkpoints;
using U2A.Core.Models.Lora;
using U2A.Testing;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Reliability.Files;

/// <summary>An untrusted LoRA adapter file cannot make <see cref="LoraModel.FromAdapterFile"/> throw anything but an
/// <see cref="InvalidDataException"/> naming the file, nor allocate adapters its own tensors do not hold.</summary>
public sealed class AdapterFileTests : IDisposable
{
    private static readonly LoraOptions Options = new() { TargetModules = new[] { "c_attn", "c_out" }, Rank = 2, Alpha = 3, Seed = 9 };
    private readonly string _dir = Directory.CreateTempSubdirectory("u2a-adapter-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static TinyTransformerLM Base() => new(30, width: 8, layers: 2, heads: 2, seed: 3);

    /// <summary>Saves real adapters, then rewrites the file's header through <paramref name="edit"/> (offsets untouched).</summary>
    private string SavedThenEdited(Action<JsonObject> edit)
    {
        string path = Path.Combine(_dir, "adapter.safetensors");
        using (var model = Base())
        using (var lora = new LoraModel(model, Options))
            lora.SaveAdapters(path);
        var bytes = File.ReadAllBytes(path);
        int length = (int)BitConverter.ToUInt64(bytes, 0);
        var header = (JsonObject)JsonNode.Parse(System.Text.Encoding.UTF8.GetString(bytes, 8, length))!;
        edit(header);
        var json = System.Text.Encoding.UTF8.GetBytes(header.ToJsonString());
        int pad = (8 - json.Length % 8) % 8;
        using var stream = File.Create(path);
        stream.Write(BitConverter.GetBytes((ulong)(json.Length + pad)));
        stream.Write(json);
        stream.Write(Enumerable.Repeat((byte)' ', pad).ToArray());
        stream.Write(bytes.AsSpan(8 + length));
        return path;
    }

    private static InvalidDataException Refused(string path)
    {
        using var model = Base();
        return Assert.Throws<InvalidDataException>(() => LoraModel.FromAdapterFile(model, path));
    }

    [Fact]
    public void Target_modules_that_name_no_layer_of_the_model_are_an_InvalidDataException()
    {
        string path = SavedThenEdited(h => h["__metadata__"]!["target_modules"] = "q_proj,v_proj");
        var e = Refused(path);
        Assert.Contains(path, e.Message);
        Assert.Contains("q_proj", e.Message);
    }

    [Fact]
    public void A_rank_the_tensors_do_not_have_is_refused_before_adapters_are_allocated()
    {
        // r = 2^30 would ask for 2^30 x 8 floats per adapter (32 GiB) before the tensors were compared.
        string path = SavedThenEdited(h => h["__metadata__"]!["r"] = "1073741824");
        var e = Refused(path);
        Assert.Contains(path, e.Message);
        Assert.Contains("'r' = 1073741824", e.Message);
        Assert.Contains("lora_A.weight", e.Message);
    }

    [Fact]
    public void Empty_adapter_tensors_cannot_carry_an_unbounded_rank()
    {
        // [r, 0] holds no bytes whatever r is, so the file's size would not bound the allocation.
        string path = SavedThenEdited(h =>
        {
            h["__metadata__"]!["r"] = "1073741824";
            foreach (var (name, node) in h.Where(kv => kv.Key != "__metadata__").ToList())
            {
                bool isA = name.EndsWith(".lora_A.weight", StringComparison.Ordinal);
                node!["shape"] = isA ? new JsonArray(1073741824, 0) : new JsonArray(0, 1073741824);
                node["data_offsets"] = new JsonArray(0, 0);
            }
        });
        // Every tensor is now empty: drop the data so the layout stays dense.
        var bytes = File.ReadAllBytes(path);
        int length = (int)BitConverter.ToUInt64(bytes, 0);
        File.WriteAllBytes(path, bytes[..(8 + length)]);
        Assert.Equal(8, SafetensorsFile.ReadHeader(path).Entries.Count); // a valid safetensors file
        var e = Refused(path);
        Assert.Contains("no dimension 0", e.Message);
    }

    [Fact]
    public void A_file_without_adapters_is_refused()
    {
        string path = Path.Combine(_dir, "empty.safetensors");
        SafetensorsFile.Save(path, new Dictionary<string, Tensor>(), new Dictionary<string, string>
        {
            ["format"] = LoraAdapterFile.Format, ["r"] = "1073741824", ["lora_alpha"] = "3", ["lora_dropout"] = "0", ["target_modules"] = "c_attn",
        });
        Assert.Contains("holds no adapter", Assert.Throws<InvalidDataException>(() => LoraAdapterFile.ReadOptions(path)).Message);
    }
}
