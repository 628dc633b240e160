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
        JsonObject header;
        try
        {
            header = JsonNode.Parse(Encoding.UTF8.GetString(headerBytes)) as JsonObject
                ?? throw new InvalidDataException($"{path}: header is not a JSON object.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: header is not valid JSON: {e.Message}", e);
        }
        long dataStart = 8 + headerLength;
        long dataLength = fileLength - dataStart;
        var entries = new List<Entry>();
        var metadata = new Dictionary<string, string>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                if (node is JsonObject meta)
                    foreach (var (k, v) in meta) metadata[k] = v?.ToString() ?? "";
                continue;
            }
            if (node is not JsonObject obj) throw new InvalidDataException($"{path}: tensor '{name}': entry is not an object.");
            string dtype = obj["dtype"]?.GetValue<string>() ?? throw new InvalidDataException($"{path}: tensor '{name}': missing field 'dtype'.");
            if (!DTypes.TryGetValue(dtype, out var info)) throw new InvalidDataException($"{path}: tensor '{name}': unsupported dtype '{dtype}'.");
            var shapeNode = obj["shape"] as JsonArray ?? throw new InvalidDataException($"{path}: tensor '{name}': missing field 'shape'.");
            var offsets = obj["data_offsets"] as JsonArray ?? throw new InvalidDataException($"{path}: tensor '{name}': missing field 'data_offsets'.");
            long[] shape;
            long begin, end;
            try
            {
                shape = shapeNode.Select(n => n!.GetValue<long>()).ToArray();
                if (offsets.Count != 2) throw new InvalidDataException($"{path}: tensor '{name}': field 'data_offsets' must hold two numbers.");
                begin = offsets[0]!.GetValue<long>();
                end = offsets[1]!.GetValue<long>();
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException or NullReferenceException)
            {
                throw new InvalidDataException($"{path}: tensor '{name}': 'shape' and 'data_offsets' must be arrays of non-negative integers.", e);
            }
            if (shape.Any(d => d < 0)) throw new InvalidDataException($"{path}: tensor '{name}': negative dimension in shape.");
            long elements = 1;
            foreach (var d in shape) elements = checked(elements * d);
            if (begin < 0 || end < begin || end > dataLength)
                throw new InvalidDataException($"{path}: tensor '{name}': data_offsets [{begin}, {end}] lie outside the data section of {dataLength} bytes.");
            if (end - begin != checked(elements * info.Size))
                throw new InvalidDataException($"{path}: tensor '{name}': {end - begin} bytes for shape [{string.Join(", ", shape)}] of {dtype} (expected {elements * info.Size}).");
            entries.Add(new Entry(name, dtype, shape, begin, end));
        }
        // Tensors may not overlap (the format requires a dense, non-overlapping layout).
        var sorted = entries.OrderBy(e => e.Begin).ToList();
        for (int i = 1; i < sorted.Count; i++)
            if (sorted[i].Begin < sorted[i - 1].End)
                throw new InvalidDataException($"{path}: tensors '{sorted[i - 1].Name}' and '{sorted[i].Name}' overlap.");
        return (entries, metadata, dataStart);
    }

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
        var names = tensors.Keys.OrderBy(n => n, StringComparer.Ordinal).ToList();
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata) meta[k] = v;
            header["__metadata__"] = meta;
        }
        var blobs = new List<byte[]>();
        long offset = 0;
        foreach (var name in names)
        {
            var t = tensors[name];
            string code = DTypes.First(kv => kv.Value.Type == t.dtype).Key;
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
