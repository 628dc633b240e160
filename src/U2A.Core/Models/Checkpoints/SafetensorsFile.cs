using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace U2A.Core.Models.Checkpoints;

/// <summary>
/// Reads and writes the safetensors format (8-byte little-endian header length, a JSON header naming each tensor's
/// dtype, shape and byte range, then raw little-endian data). Nothing is executed or unpickled; the header size,
/// every offset and every shape are validated against the file before any tensor is made.
/// </summary>
/// <remarks>
/// Every malformed file (truncated, forged lengths, offsets, dtypes or shapes, invalid JSON or UTF-8, overlapping or
/// missing data) is reported as an <see cref="InvalidDataException"/> whose message names the file and the tensor or
/// header field. A shape is accepted only when its element count, its byte size and the contiguous strides libtorch
/// derives from it (zero dimensions counted as 1) fit a 64-bit integer, so no native call ever sees an unrepresentable
/// shape; memory allocated for a tensor never exceeds the bytes the file itself holds for it.
/// </remarks>
public static class SafetensorsFile
{
    /// <summary>Largest header accepted (the format's own reference implementation uses 100 MB).</summary>
    public const long MaxHeaderBytes = 100L * 1024 * 1024;

    /// <summary>Largest number of dimensions accepted for a tensor (real checkpoints use at most 4 or 5).</summary>
    public const int MaxRank = 64;

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
        // System.Text.Json does not check the UTF-8 of string contents while parsing: it throws InvalidOperationException
        // (without the file name) when a string is later read. So the whole header is checked here first.
        if (!Utf8.IsValid(headerBytes))
        {
            long at = FirstInvalidUtf8(headerBytes);
            throw new InvalidDataException($"{path}: header is not valid UTF-8 (invalid byte 0x{headerBytes[at]:X2} at header offset {at}, file offset {8 + at}).");
        }
        try
        {
            // JsonDocument (not JsonObject) so duplicate keys are seen rather than thrown as a bare ArgumentException,
            // and every value's kind is checked explicitly.
            using var document = JsonDocument.Parse(headerBytes);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}: header is not a JSON object.");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            int index = 0;
            foreach (var property in document.RootElement.EnumerateObject())
            {
                string name = NameOf(property, $"{path}: header key number {++index}");
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
        catch (InvalidOperationException e) // a JSON string that cannot be read as text, should one escape NameOf and Text
        {
            throw new InvalidDataException($"{path}: header holds a string that is not valid text: {e.Message}", e);
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

    private const string TempInfix = ".tmp-";

    /// <summary>
    /// Deletes the temporary files <c>&lt;path&gt;.tmp-&lt;owner&gt;...</c> that a save of <paramref name="path"/> left when
    /// its process died (see <see cref="SaveOwner"/>); those of running processes, this one included, are kept. Best effort.
    /// </summary>
    internal static void RemoveStaleTemporaries(string path)
    {
        string full = Path.GetFullPath(path);
        string? directory = Path.GetDirectoryName(full);
        if (directory is null) return;
        string target = Path.GetFileName(full);
        RemoveStaleTemporaries(directory, name => name == target);
    }

    /// <summary>As <see cref="RemoveStaleTemporaries(string)"/>, for every file of <paramref name="directory"/> whose name
    /// <paramref name="isTarget"/> accepts.</summary>
    internal static void RemoveStaleTemporaries(string directory, Func<string, bool> isTarget)
    {
        if (!Directory.Exists(directory)) return;
        try
        {
            foreach (var file in Directory.EnumerateFiles(directory))
            {
                string name = Path.GetFileName(file);
                int infix = name.LastIndexOf(TempInfix, StringComparison.Ordinal);
                if (infix <= 0 || !isTarget(name[..infix])) continue;
                if (!SaveOwner.TryParse(name.AsSpan(infix + TempInfix.Length), out int pid, out long? start) || SaveOwner.MayBeRunning(pid, start)) continue;
                try { File.Delete(file); }
                catch (IOException) { }
                catch (UnauthorizedAccessException) { }
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static void ReadMetadata(JsonElement node, Dictionary<string, string> metadata, string path)
    {
        if (node.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{path}: '{MetadataKey}' must be an object of strings, not {Kind(node)}.");
        int index = 0;
        foreach (var item in node.EnumerateObject())
        {
            string name = NameOf(item, $"{path}: '{MetadataKey}' key number {++index}");
            if (item.Value.ValueKind != JsonValueKind.String)
                throw new InvalidDataException($"{path}: '{MetadataKey}' field '{name}' must be a string, not {Kind(item.Value)}.");
            if (!metadata.TryAdd(name, Text(item.Value, $"{path}: '{MetadataKey}' field '{name}'")))
                throw new InvalidDataException($"{path}: '{MetadataKey}' field '{name}' appears twice.");
        }
    }

    private static Entry ReadEntry(string name, JsonElement node, long dataLength, string path)
    {
        string Where(string field) => $"{path}: tensor '{name}': field '{field}'";
        if (node.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: tensor '{name}': entry is not an object.");
        if (!node.TryGetProperty("dtype", out var dtypeNode)) throw new InvalidDataException($"{path}: tensor '{name}': missing field 'dtype'.");
        if (dtypeNode.ValueKind != JsonValueKind.String) throw new InvalidDataException($"{Where("dtype")} must be a string, not {Kind(dtypeNode)}.");
        string dtype = Text(dtypeNode, Where("dtype"));
        if (!DTypes.TryGetValue(dtype, out var info)) throw new InvalidDataException($"{path}: tensor '{name}': unsupported dtype '{dtype}'.");
        if (!node.TryGetProperty("shape", out var shapeNode)) throw new InvalidDataException($"{path}: tensor '{name}': missing field 'shape'.");
        if (!node.TryGetProperty("data_offsets", out var offsetsNode)) throw new InvalidDataException($"{path}: tensor '{name}': missing field 'data_offsets'.");
        long[] shape = Integers(shapeNode, Where("shape"));
        long[] offsets = Integers(offsetsNode, Where("data_offsets"));
        if (offsets.Length != 2) throw new InvalidDataException($"{Where("data_offsets")} must hold two numbers, not {offsets.Length}.");
        long begin = offsets[0], end = offsets[1];
        if (shape.Length > MaxRank)
            throw new InvalidDataException($"{Where("shape")}: {shape.Length} dimensions, more than the {MaxRank} accepted.");
        // Every count is bounded by the product of the dimensions, zeros counted as 1, times the element size: that is
        // also the byte extent of the contiguous strides libtorch derives from the shape, even when it holds no elements
        // ([0, 2^62, 2^62] would overflow there, in native code). So that product must fit a 64-bit integer.
        long extent = info.Size;
        try
        {
            foreach (var d in shape) extent = checked(extent * Math.Max(d, 1));
        }
        catch (OverflowException)
        {
            throw new InvalidDataException($"{Where("shape")}: [{string.Join(", ", shape)}]: the product of its non-zero dimensions times the {info.Size}-byte " +
                "element size overflows a 64-bit integer (more elements than a file can hold, or strides libtorch cannot represent).");
        }
        long bytes = shape.Contains(0L) ? 0 : extent;
        if (end < begin || end > dataLength)
            throw new InvalidDataException($"{Where("data_offsets")}: [{begin}, {end}] lie outside the data section of {dataLength} bytes.");
        if (end - begin != bytes)
            throw new InvalidDataException($"{path}: tensor '{name}': {end - begin} bytes for shape [{string.Join(", ", shape)}] of {dtype} (expected {bytes}).");
        return new Entry(name, dtype, shape, begin, end);
    }

    /// <summary>The text of a JSON string; <paramref name="where"/> names it when it cannot be read (an unpaired surrogate escape).</summary>
    private static string Text(JsonElement node, string where)
    {
        try
        {
            return node.GetString()!;
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidDataException($"{where} is not valid text ({Excerpt(node.GetRawText())}): {e.Message}", e);
        }
    }

    /// <summary>The name of a JSON property; <paramref name="where"/> names it when it cannot be read.</summary>
    private static string NameOf(JsonProperty property, string where)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidDataException($"{where} is not valid text ({Excerpt(property.ToString())}): {e.Message}", e);
        }
    }

    private static string Excerpt(string raw) => raw.Length <= 60 ? raw : raw[..60] + "...";

    /// <summary>Offset of the first byte that does not begin a valid UTF-8 sequence (the bytes are known to be invalid).</summary>
    private static long FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        int at = 0;
        while (at < bytes.Length)
        {
            if (System.Buffers.OperationStatus.Done != System.Text.Rune.DecodeFromUtf8(bytes[at..], out _, out int consumed)) return at;
            at += consumed;
        }
        return bytes.Length - 1;
    }

    /// <summary>The TorchSharp scalar type of a safetensors dtype string, or null when it is not one this reader supports.</summary>
    internal static ScalarType? ScalarTypeOf(string dtype) => DTypes.TryGetValue(dtype, out var info) ? info.Type : null;

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
                var bytes = new byte[e.End - e.Begin]; // at most the file's size: ReadHeader checked the offsets against it
                stream.Seek(dataStart + e.Begin, SeekOrigin.Begin);
                try
                {
                    stream.ReadExactly(bytes);
                }
                catch (EndOfStreamException ex)
                {
                    throw new InvalidDataException($"{path}: tensor '{e.Name}': the file ended before its data (was it truncated while being read?).", ex);
                }
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
    /// written to a temporary name (<c>&lt;path&gt;.tmp-&lt;pid&gt;-&lt;start&gt;-&lt;id&gt;</c>) and renamed, so a failure never
    /// leaves a truncated file behind; temporaries of <paramref name="path"/> left by processes that died while saving
    /// (killed, or a power cut) are deleted by the next save of the same path.
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
        RemoveStaleTemporaries(path);
        string temp = $"{path}{TempInfix}{SaveOwner.Current}-{Guid.NewGuid():N}";
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
