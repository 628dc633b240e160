using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace U2A.Core.Models.Checkpoints;

/// <summary>
/// Reads and writes the safetensors format (8-byte little-endian header length, a JSON header naming each tensor's
/// dtype, shape and byte range, then raw little-endian data). Nothing is executed or unpickled; the header size,
/// every offset and every shape are validated against the file before any tensor is made.
/// </summary>
public static class SafetensorsFile
{
    /// <summary>Largest header accepted (the format's own reference implementation uses 100 MB).</summary>
    public const long MaxHeaderBytes = 100L * 1024 * 1024;

    private static readonly Dictionary<string, (ScalarType Type, int Size)> DTypes = new()
    {
        ["F64"] = (ScalarType.Float64, 8), ["F32"] = (ScalarType.Float32, 4), ["F16"] = (ScalarType.Float16, 2),
        ["BF16"] = (ScalarType.BFloat16, 2), ["I64"] = (ScalarType.Int64, 8), ["I32"] = (ScalarType.Int32, 4),
        ["I16"] = (ScalarType.Int16, 2), ["I8"] = (ScalarType.Int8, 1), ["U8"] = (ScalarType.Byte, 1), ["BOOL"] = (ScalarType.Bool, 1),
    };

    /// <summary>One tensor's entry in the header.</summary>
    /// <param name="Name">Tensor name.</param>
    /// <param name="DType">safetensors dtype string (F32, BF16, ...).</param>
    /// <param name="Shape">Shape.</param>
    /// <param name="Begin">Start offset in the data section.</param>
    /// <param name="End">End offset (exclusive) in the data section.</param>
    public sealed record Entry(string Name, string DType, long[] Shape, long Begin, long End);

    /// <summary>Reads and validates the header of <paramref name="path"/>; returns the entries and the metadata map.</summary>
    public static (IReadOnlyList<Entry> Entries, IReadOnlyDictionary<string, string> Metadata, long DataStart) ReadHeader(string path)
    {
        using var stream = File.OpenRead(path);
        return ReadHeader(stream, path);
    }

    private static (IReadOnlyList<Entry>, IReadOnlyDictionary<string, string>, long) ReadHeader(FileStream stream, string path)
    {
        long fileLength = stream.Length;
        if (fileLength < 8) throw new InvalidDataException($"{path}: {fileLength} bytes is too short for a safetensors file.");
        Span<byte> lenBytes = stackalloc byte[8];
        stream.ReadExactly(lenBytes);
        long headerLength = (long)BitConverter.ToUInt64(lenBytes);
        if (headerLength <= 0 || headerLength > MaxHeaderBytes || headerLength > fileLength - 8)
            throw new InvalidDataException($"{path}: header length {headerLength} is invalid for a file of {fileLength} bytes (limit {MaxHeaderBytes}).");
        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        long dataStart = 8 + headerLength;
        long dataLength = fileLength - dataStart;
        var entries = new List<Entry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            // JsonDocument (not JsonObject) so duplicate keys are seen rather than thrown as a bare ArgumentException,
            // and every value's kind is checked explicitly. Invalid UTF-8 is a JsonException.
            using var document = JsonDocument.Parse(headerBytes);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}: header is not a JSON object.");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                string name = property.Name;
                if (!seen.Add(name))
                    throw new InvalidDataException(name == MetadataKey
                        ? $"{path}: '{MetadataKey}' appears twice in the header."
                        : $"{path}: tensor '{name}' appears twice in the header.");
                if (name == MetadataKey) ReadMetadata(property.Value, metadata, path);
                else entries.Add(ReadEntry(name, property.Value, dataLength, path));
            }
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: header is not valid JSON: {e.Message}", e);
        }
        // The format requires a dense layout: sorted by offset, every tensor starts where the previous one ends, the
        // first at 0 and the last ending at the end of the file (no overlap, no gap, no trailing bytes), as the reference
        // implementation checks.
        var sorted = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        long expected = 0;
        for (int i = 0; i < sorted.Count; i++)
        {
            var e = sorted[i];
            if (e.Begin < expected)
                throw new InvalidDataException($"{path}: tensors '{sorted[i - 1].Name}' and '{e.Name}' overlap.");
            if (e.Begin > expected)
                throw new InvalidDataException(i == 0
                    ? $"{path}: tensor '{e.Name}' starts at {e.Begin}: bytes [0, {e.Begin}) of the data section belong to no tensor."
                    : $"{path}: gap of {e.Begin - expected} bytes between tensors '{sorted[i - 1].Name}' and '{e.Name}' (bytes [{expected}, {e.Begin}) belong to no tensor).");
            expected = e.End;
        }
        if (expected != dataLength)
            throw new InvalidDataException(sorted.Count == 0
                ? $"{path}: {dataLength} bytes of data but no tensors."
                : $"{path}: {dataLength - expected} trailing bytes after the last tensor '{sorted[^1].Name}' (data section of {dataLength} bytes, tensors end at {expected}).");
        return (entries, metadata, dataStart);
    }

    private const string MetadataKey = "__metadata__";

    private static void ReadMetadata(JsonElement node, Dictionary<string, string> metadata, string path)
    {
        if (node.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{path}: '{MetadataKey}' must be an object of strings, not {Kind(node)}.");
        foreach (var item in node.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw new InvalidDataException($"{path}: '{MetadataKey}' field '{item.Name}' must be a string, not {Kind(item.Value)}.");
            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
                throw new InvalidDataException($"{path}: '{MetadataKey}' field '{item.Name}' appears twice.");
        }
    }

    private static Entry ReadEntry(string name, JsonElement node, long dataLength, string path)
    {
        string Where(string field) => $"{path}: tensor '{name}': field '{field}'";
        if (node.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: tensor '{name}': entry is not an object.");
        if (!node.TryGetProperty("dtype", out var dtypeNode)) throw new InvalidDataException($"{path}: tensor '{name}': missing field 'dtype'.");
        if (dtypeNode.ValueKind != JsonValueKind.String) throw new InvalidDataException($"{Where("dtype")} must be a string, not {Kind(dtypeNode)}.");
        string dtype = dtypeNode.GetString()!;
        if (!DTypes.TryGetValue(dtype, out var info)) throw new InvalidDataException($"{path}: tensor '{name}': unsupported dtype '{dtype}'.");
        if (!node.TryGetProperty("shape", out var shapeNode)) throw new InvalidDataException($"{path}: tensor '{name}': missing field 'shape'.");
        if (!node.TryGetProperty("data_offsets", out var offsetsNode)) throw new InvalidDataException($"{path}: tensor '{name}': missing field 'data_offsets'.");
        long[] shape = Integers(shapeNode, Where("shape"));
        long[] offsets = Integers(offsetsNode, Where("data_offsets"));
        if (offsets.Length != 2) throw new InvalidDataException($"{Where("data_offsets")} must hold two numbers, not {offsets.Length}.");
        long begin = offsets[0], end = offsets[1];
        long elements = 1, bytes;
        try
        {
            foreach (var d in shape) elements = checked(elements * d);
            bytes = checked(elements * info.Size);
        }
        catch (OverflowException)
        {
            throw new InvalidDataException($"{Where("shape")}: [{string.Join(", ", shape)}] has more elements than a file can hold.");
        }
        if (end < begin || end > dataLength)
            throw new InvalidDataException($"{Where("data_offsets")}: [{begin}, {end}] lie outside the data section of {dataLength} bytes.");
        if (end - begin != bytes)
            throw new InvalidDataException($"{path}: tensor '{name}': {end - begin} bytes for shape [{string.Join(", ", shape)}] of {dtype} (expected {bytes}).");
        return new Entry(name, dtype, shape, begin, end);
    }

    /// <summary>An array of non-negative integers that fit a long.</summary>
    private static long[] Integers(JsonElement node, string where)
    {
        if (node.ValueKind != JsonValueKind.Array) throw new InvalidDataException($"{where} must be an array of non-negative integers, not {Kind(node)}.");
        var result = new long[node.GetArrayLength()];
        int i = 0;
        foreach (var item in node.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out long value) || value < 0)
                throw new InvalidDataException($"{where} must be an array of non-negative integers; item {i} is {item.GetRawText()}.");
            result[i++] = value;
        }
        return result;
    }

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => $"the number {e.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {e.GetRawText()}",
        JsonValueKind.Null => "null",
        _ => e.ValueKind.ToString(),
    };

    /// <summary>
    /// Loads every tensor (or those <paramref name="include"/> accepts) from a safetensors file onto <paramref name="device"/>,
    /// converting floating-point tensors to <paramref name="dtype"/> when it is given.
    /// </summary>
    public static Dictionary<string, Tensor> Load(string path, Device? device = null, ScalarType? dtype = null, Func<string, bool>? include = null)
    {
        using var stream = File.OpenRead(path);
        var (entries, _, dataStart) = ReadHeader(stream, path);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var e in entries)
            {
                if (include is not null && !include(e.Name)) continue;
                var bytes = new byte[e.End - e.Begin];
                stream.Seek(dataStart + e.Begin, SeekOrigin.Begin);
                stream.ReadExactly(bytes);
                var info = DTypes[e.DType];
                var t = empty(e.Shape, dtype: info.Type);
                if (bytes.Length > 0) t.bytes = bytes;
                if (dtype is { } target && t.is_floating_point() && t.dtype != target)
                {
                    var converted = t.to_type(target);
                    t.Dispose();
                    t = converted;
                }
                if (device is not null && device.type != DeviceType.CPU)
                {
                    var moved = t.to(device);
                    t.Dispose();
                    t = moved;
                }
                result[e.Name] = t.DetachFromDisposeScope();
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    /// <summary>
    /// Writes tensors to <paramref name="path"/> in safetensors format (names sorted, dense layout). The file is
    /// written to a temporary name and renamed, so a failure never leaves a truncated file behind.
    /// </summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var names = tensors.Keys.OrderBy(n => n, StringComparer.Ordinal).ToList();
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata)
                meta[k] = v ?? throw new ArgumentException($"{path}: metadata field '{k}' is null; safetensors metadata values are strings.", nameof(metadata));
            header[MetadataKey] = meta;
        }
        // Check every tensor before any bytes are copied, so the error names the first offending one.
        foreach (var name in names)
        {
            if (name == MetadataKey)
                throw new ArgumentException($"{path}: '{MetadataKey}' is reserved for the metadata and cannot name a tensor.", nameof(tensors));
            var t = tensors[name] ?? throw new ArgumentException($"{path}: tensor '{name}' is null.", nameof(tensors));
            if (!DTypes.Any(kv => kv.Value.Type == t.dtype))
                throw new ArgumentException($"{path}: tensor '{name}' has dtype {t.dtype}, which safetensors cannot hold here (supported: {string.Join(", ", DTypes.Values.Select(v => v.Type))}).", nameof(tensors));
        }
        var blobs = new List<byte[]>();
        long offset = 0;
        foreach (var name in names)
        {
            var t = tensors[name];
            string code = DTypes.First(kv => kv.Value.Type == t.dtype).Key; // checked above
            byte[] data;
            using (var scope = NewDisposeScope())
            {
                var cpu = t.detach().cpu().contiguous();
                data = cpu.numel() == 0 ? Array.Empty<byte>() : cpu.bytes.ToArray();
            }
            header[name] = new JsonObject
            {
                ["dtype"] = code,
                ["shape"] = new JsonArray(t.shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + data.Length),
            };
            blobs.Add(data);
            offset += data.Length;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int pad = (8 - json.Length % 8) % 8; // align the data section to 8 bytes, padding with spaces as the format allows
        var headerBytes = new byte[json.Length + pad];
        json.CopyTo(headerBytes, 0);
        for (int i = json.Length; i < headerBytes.Length; i++) headerBytes[i] = (byte)' ';
        string temp = path + ".tmp-" + Environment.ProcessId;
        try
        {
            using (var stream = File.Create(temp))
            {
                stream.Write(BitConverter.GetBytes((ulong)headerBytes.Length));
                stream.Write(headerBytes);
                foreach (var b in blobs) stream.Write(b);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
