using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace U2A.Core.Tests.Reliability.Files;

/// <summary>What a variant must give; null where either outcome is legitimate.</summary>
internal enum Expect { Loaded, Invalid }

/// <summary>One mutated file: its bytes, a description that reproduces it by eye, and what the safetensors reader and the
/// model loader must make of it (null: loaded or <see cref="InvalidDataException"/>, both fine).</summary>
internal sealed record Variant(string Family, string Description, byte[] Bytes, Expect? File, Expect? Model);

/// <summary>
/// Mutates a real safetensors file. Byte-level families (truncation, appended bytes, byte flips in the header and in the
/// data, forged header length, random havoc) and structure-aware ones that parse the header JSON and rewrite one field
/// deliberately (dtype, shape, data_offsets, names, metadata, duplicate keys, unreadable strings, invalid UTF-8, padding)
/// or rebuild a consistent file with a forged dtype or shape, a dropped, added, swapped or reordered tensor. Where the
/// outcome is known by construction (a truncation is always invalid, a data flip or a consistent re-layout always
/// readable) the variant says so, and the harness checks it.
/// </summary>
internal sealed class SafetensorsMutator
{
    private static readonly string[] DTypes = { "F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL" };
    private static readonly string[] FloatDTypes = { "F64", "F32", "F16", "BF16" };
    private static readonly string[] BadDTypes = { "F8_E4M3", "f32", "", "float32", "I128", "C64", "F32 ", "U16", "U64", "F4" };
    private static readonly string[] Numbers =
    {
        "0", "1", "2", "3", "-1", "1.5", "1e3", "7", "8", "16", "255", "65536", "2147483647", "2147483648", "4294967296",
        "4611686018427387904", "9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616",
        "-9223372036854775808", "1e400", "-0", "0.0", "null", "true", "\"2\"", "[]", "{}", "[1]",
    };
    private static readonly string[] Texts =
    {
        "0", "1", "2", "3", "-1", "abc", "1e9", "2147483648", "NaN", "Infinity", "0.5", "0.999", "1", "", " ", "c_attn", "c_out",
        "c_attn,c_out,c_fc", "nonexistent", "c attn", "c_attn,c_attn", "pt", "u2a-lora", "ü✓", "\u0000",
    };
    private static readonly byte[] InterestingBytes = "\"{}[],:0123456789-.eE\\ tfn"u8.ToArray().Concat(new byte[] { 0x00, 0x7F, 0x80, 0xBF, 0xC0, 0xC3, 0xE2, 0xED, 0xF0, 0xF4, 0xF8, 0xFF }).ToArray();

    private sealed record Tensor(string Name, string DType, long[] Shape, byte[] Bytes);

    private readonly byte[] _original;
    private readonly long _dataStart;
    private readonly string _headerText;
    private readonly byte[] _data;
    private readonly List<Tensor> _tensors; // in data order
    private readonly JsonObject? _metadata;

    public SafetensorsMutator(byte[] original)
    {
        _original = original;
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(original);
        _dataStart = 8 + headerLength;
        _headerText = Encoding.UTF8.GetString(original, 8, (int)headerLength).TrimEnd(' ');
        _data = original[(int)_dataStart..];
        var header = (JsonObject)JsonNode.Parse(_headerText)!;
        _metadata = header["__metadata__"] as JsonObject;
        _tensors = header.Where(kv => kv.Key != "__metadata__")
            .Select(kv =>
            {
                var o = (JsonObject)kv.Value!;
                var offsets = o["data_offsets"]!.AsArray().Select(n => n!.GetValue<long>()).ToArray();
                return (Begin: offsets[0], T: new Tensor(kv.Key, o["dtype"]!.GetValue<string>(), o["shape"]!.AsArray().Select(n => n!.GetValue<long>()).ToArray(),
                    _data[(int)offsets[0]..(int)offsets[1]]));
            })
            .OrderBy(x => x.Begin).Select(x => x.T).ToList();
    }

    private int HeaderLength => (int)(_dataStart - 8);

    /// <summary>The variant <paramref name="rng"/> picks (every choice comes from it, so a seed reproduces the variant).</summary>
    public Variant Next(Random rng)
    {
        int roll = rng.Next(100);
        return roll switch
        {
            < 7 => Truncate(rng),
            < 10 => Append(rng),
            < 20 => FlipHeader(rng),
            < 28 => FlipData(rng),
            < 33 => ForgeHeaderLength(rng),
            < 40 => ForgeDType(rng),
            < 49 => ForgeShape(rng),
            < 56 => ForgeOffsets(rng),
            < 59 => ForgeFields(rng),
            < 63 => ForgeNames(rng),
            < 68 => ForgeMetadata(rng),
            < 75 => Relabel(rng),
            < 82 => Relayout(rng),
            < 88 => RawText(rng),
            < 90 => Pad(rng),
            _ => Havoc(rng),
        };
    }

    // ---- byte level -------------------------------------------------------------------------------------------------

    private Variant Truncate(Random rng)
    {
        long[] points = { rng.Next(8), 8, _dataStart - 1, _dataStart, 8 + rng.NextInt64(HeaderLength), _original.Length - 1, rng.NextInt64(_original.Length) };
        long length = Math.Clamp(points[rng.Next(points.Length)], 0, _original.Length - 1);
        return new("truncate", $"truncated to {length} of {_original.Length} bytes", _original[..(int)length], Expect.Invalid, Expect.Invalid);
    }

    private Variant Append(Random rng)
    {
        var extra = new byte[1 + rng.Next(64)];
        rng.NextBytes(extra);
        if (rng.Next(2) == 0) Array.Fill(extra, (byte)' ');
        return new("append", $"{extra.Length} bytes appended ({Convert.ToHexString(extra[..Math.Min(4, extra.Length)])}...)", _original.Concat(extra).ToArray(), Expect.Invalid, Expect.Invalid);
    }

    private byte RandomByte(Random rng) => rng.Next(3) switch
    {
        0 => InterestingBytes[rng.Next(InterestingBytes.Length)],
        _ => (byte)rng.Next(256),
    };

    private Variant FlipHeader(Random rng)
    {
        var bytes = (byte[])_original.Clone();
        int count = 1 + rng.Next(4);
        var where = new List<string>();
        for (int i = 0; i < count; i++)
        {
            int at = 8 + rng.Next(HeaderLength);
            byte before = bytes[at];
            bytes[at] = rng.Next(2) == 0 ? (byte)(before ^ (1 << rng.Next(8))) : RandomByte(rng);
            where.Add($"{at}:{before:X2}->{bytes[at]:X2}");
        }
        bool same = bytes.AsSpan().SequenceEqual(_original);
        return new("flip-header", "header bytes " + string.Join(",", where), bytes, same ? Expect.Loaded : null, same ? Expect.Loaded : null);
    }

    private Variant FlipData(Random rng)
    {
        if (_data.Length == 0) return FlipHeader(rng);
        var bytes = (byte[])_original.Clone();
        int count = 1 + rng.Next(8);
        var where = new List<string>();
        for (int i = 0; i < count; i++)
        {
            int at = (int)_dataStart + rng.Next(_data.Length);
            byte before = bytes[at];
            bytes[at] = rng.Next(2) == 0 ? (byte)(before ^ (1 << rng.Next(8))) : (byte)rng.Next(256);
            where.Add($"{at}:{before:X2}->{bytes[at]:X2}");
        }
        // The header is untouched, so the file is exactly as valid as before: both readers must load it (values may be NaN).
        return new("flip-data", "data bytes " + string.Join(",", where), bytes, Expect.Loaded, Expect.Loaded);
    }

    private Variant ForgeHeaderLength(Random rng)
    {
        ulong real = (ulong)HeaderLength, length = (ulong)_original.Length;
        ulong[] values =
        {
            0, 1, 2, 7, real - 1, real + 1, real - 8, real + 8, length - 8, length - 7, length, length + 1, 100UL * 1024 * 1024,
            100UL * 1024 * 1024 + 1, int.MaxValue, 1UL << 31, 1UL << 32, long.MaxValue, 1UL << 63, ulong.MaxValue, real ^ (1UL << rng.Next(64)),
            (ulong)rng.NextInt64() | (rng.Next(2) == 0 ? 0 : 1UL << 63),
        };
        ulong value = values[rng.Next(values.Length)];
        if (value == real) value = real + 1;
        var bytes = (byte[])_original.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        return new("header-length", $"header length {real} forged to {value}", bytes, Expect.Invalid, Expect.Invalid);
    }

    private Variant Havoc(Random rng)
    {
        var bytes = new List<byte>(_original);
        int count = 2 + rng.Next(4);
        var ops = new List<string>();
        for (int i = 0; i < count && bytes.Count > 0; i++)
        {
            int at = rng.Next(bytes.Count);
            switch (rng.Next(5))
            {
                case 0: bytes[at] = RandomByte(rng); ops.Add($"set {at}"); break;
                case 1: bytes.Insert(at, RandomByte(rng)); ops.Add($"insert {at}"); break;
                case 2: bytes.RemoveAt(at); ops.Add($"delete {at}"); break;
                case 3:
                    int len = Math.Min(1 + rng.Next(16), bytes.Count - at);
                    bytes.InsertRange(rng.Next(bytes.Count), bytes.GetRange(at, len)); ops.Add($"duplicate {at}+{len}"); break;
                default: bytes.RemoveRange(at, bytes.Count - at); ops.Add($"truncate {at}"); break;
            }
        }
        var result = bytes.ToArray();
        bool same = result.AsSpan().SequenceEqual(_original);
        return new("havoc", string.Join(", ", ops), result, same ? Expect.Loaded : null, same ? Expect.Loaded : null);
    }

    // ---- header JSON ------------------------------------------------------------------------------------------------

    private JsonObject Header() => (JsonObject)JsonNode.Parse(_headerText)!;

    private Tensor Pick(Random rng) => _tensors[rng.Next(_tensors.Count)];

    /// <summary>A file with this header text (length prefix made to match, padded to 8 bytes with spaces) and the original data.</summary>
    private byte[] WithHeader(string header, byte[]? data = null) => WithHeaderBytes(Encoding.UTF8.GetBytes(header), data);

    private byte[] WithHeaderBytes(byte[] json, byte[]? data = null, int pad = -1, byte padByte = (byte)' ')
    {
        data ??= _data;
        if (pad < 0) pad = (8 - json.Length % 8) % 8;
        var bytes = new byte[8 + json.Length + pad + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)(json.Length + pad));
        json.CopyTo(bytes, 8);
        bytes.AsSpan(8 + json.Length, pad).Fill(padByte);
        data.CopyTo(bytes, 8 + json.Length + pad);
        return bytes;
    }

    private static JsonNode? Raw(string json) => JsonNode.Parse(json);

    private Variant ForgeDType(Random rng)
    {
        var header = Header();
        var t = Pick(rng);
        var entry = header[t.Name]!.AsObject();
        string description;
        if (rng.Next(4) == 0)
        {
            string raw = new[] { "7", "null", "true", "[]", "{}", "[\"F32\"]" }[rng.Next(6)];
            entry["dtype"] = Raw(raw);
            description = $"'{t.Name}' dtype {t.DType} -> {raw}";
        }
        else
        {
            string dtype = rng.Next(3) == 0 ? BadDTypes[rng.Next(BadDTypes.Length)] : DTypes[rng.Next(DTypes.Length)];
            entry["dtype"] = dtype;
            description = $"'{t.Name}' dtype {t.DType} -> \"{dtype}\" (offsets kept)";
        }
        return new("dtype", description, WithHeader(header.ToJsonString()), null, null);
    }

    private Variant ForgeShape(Random rng)
    {
        var header = Header();
        var t = Pick(rng);
        var entry = header[t.Name]!.AsObject();
        var shape = t.Shape.Select(d => d.ToString()).ToList();
        string op;
        switch (rng.Next(7))
        {
            case 0 when shape.Count > 0:
                int i = rng.Next(shape.Count);
                shape[i] = rng.Next(2) == 0 ? Numbers[rng.Next(Numbers.Length)] : (t.Shape[i] + rng.Next(-2, 3)).ToString();
                op = $"dim {i} -> {shape[i]}";
                break;
            case 1:
                int at = rng.Next(shape.Count + 1);
                shape.Insert(at, new[] { "1", "0", "2", "4611686018427387904", "9223372036854775807" }[rng.Next(5)]);
                op = $"insert dim {shape[at]} at {at}";
                break;
            case 2 when shape.Count > 0:
                int r = rng.Next(shape.Count);
                op = $"remove dim {r}";
                shape.RemoveAt(r);
                break;
            case 3:
                string[][] specials =
                {
                    new[] { "0", "4611686018427387904", "4611686018427387904" }, new[] { "4611686018427387904", "4611686018427387904", "0" },
                    new[] { "0", "9223372036854775807" }, new[] { "0", "9223372036854775807", "9223372036854775807", "2" },
                    new[] { "0", "3037000500", "3037000500" }, new[] { "2147483648", "2147483648", "2147483648" },
                    Enumerable.Repeat("1", 70).ToArray(), Enumerable.Repeat("0", 65).ToArray(), Array.Empty<string>(), new[] { "0" },
                };
                shape = specials[rng.Next(specials.Length)].ToList();
                op = $"shape -> [{Short(string.Join(",", shape))}]";
                break;
            case 4 when t.Shape.Length >= 1:
                // Same element count, other shape: the byte count still matches, so only the model's shape check can tell.
                long n = t.Shape.Aggregate(1L, (a, b) => a * b);
                var forms = new List<long[]> { new[] { n }, new[] { 1, n }, t.Shape.Reverse().ToArray(), t.Shape.Append(1).ToArray() };
                if (n % 2 == 0) forms.Add(new[] { 2, n / 2 });
                var form = forms[rng.Next(forms.Count)];
                entry["shape"] = new JsonArray(form.Select(d => (JsonNode)d).ToArray());
                bool same = form.SequenceEqual(t.Shape);
                return new("shape", $"'{t.Name}' shape [{string.Join(",", t.Shape)}] -> [{string.Join(",", form)}] (same element count)",
                    WithHeader(header.ToJsonString()), Expect.Loaded, same ? Expect.Loaded : Expect.Invalid);
            case 5:
                string raw = new[] { "null", "7", "\"[2]\"", "{}", "[[2]]", "[2,[2]]" }[rng.Next(6)];
                entry["shape"] = Raw(raw);
                return new("shape", $"'{t.Name}' shape -> {raw}", WithHeader(header.ToJsonString()), Expect.Invalid, Expect.Invalid);
            default:
                int j = shape.Count == 0 ? 0 : rng.Next(shape.Count);
                if (shape.Count == 0) shape.Add("0"); else shape[j] = "0";
                op = $"dim {j} -> 0";
                break;
        }
        entry["shape"] = Raw("[" + string.Join(",", shape) + "]");
        return new("shape", $"'{t.Name}' {Short(op)}", WithHeader(header.ToJsonString()), null, null);
    }

    private Variant ForgeOffsets(Random rng)
    {
        var header = Header();
        var t = Pick(rng);
        var entry = header[t.Name]!.AsObject();
        var offsets = entry["data_offsets"]!.AsArray().Select(n => n!.GetValue<long>()).ToArray();
        string original = $"[{offsets[0]},{offsets[1]}]";
        string value;
        switch (rng.Next(6))
        {
            case 0:
                int which = rng.Next(2);
                long delta = new long[] { -8, -4, -2, -1, 1, 2, 4, 8, _data.Length, -offsets[which] - 1 }[rng.Next(10)];
                offsets[which] += delta;
                value = $"[{offsets[0]},{offsets[1]}]";
                break;
            case 1:
                value = $"[{offsets[1]},{offsets[0]}]";
                break;
            case 2:
                var other = Pick(rng);
                var o = header[other.Name]!["data_offsets"]!.AsArray();
                value = $"[{o[0]},{o[1]}]";
                break;
            case 3:
                value = new[] { $"[{offsets[0]}]", $"[{offsets[0]},{offsets[1]},{offsets[1]}]", "[]", "null", $"\"{offsets[0]}\"", $"{{\"begin\":{offsets[0]}}}" }[rng.Next(6)];
                break;
            case 4:
                value = $"[{Numbers[rng.Next(Numbers.Length)]},{offsets[1]}]";
                break;
            default:
                value = $"[{offsets[0]},{Numbers[rng.Next(Numbers.Length)]}]";
                break;
        }
        entry["data_offsets"] = Raw(value);
        bool same = value == original;
        return new("offsets", $"'{t.Name}' data_offsets -> {value}", WithHeader(header.ToJsonString()), same ? Expect.Loaded : null, same ? Expect.Loaded : null);
    }

    private Variant ForgeFields(Random rng)
    {
        var header = Header();
        var t = Pick(rng);
        var entry = header[t.Name]!.AsObject();
        switch (rng.Next(4))
        {
            case 0:
                string field = new[] { "dtype", "shape", "data_offsets" }[rng.Next(3)];
                entry.Remove(field);
                return new("fields", $"'{t.Name}' without '{field}'", WithHeader(header.ToJsonString()), Expect.Invalid, Expect.Invalid);
            case 1:
                entry["extra"] = Raw(new[] { "1", "\"x\"", "null", "[1,2]", "{\"a\":1}" }[rng.Next(5)]);
                return new("fields", $"'{t.Name}' with an extra field", WithHeader(header.ToJsonString()), Expect.Loaded, Expect.Loaded);
            case 2:
                header[t.Name] = Raw(new[] { "1", "\"F32\"", "null", "[\"F32\",[2],[0,8]]", "true" }[rng.Next(5)]);
                return new("fields", $"'{t.Name}' entry is not an object", WithHeader(header.ToJsonString()), Expect.Invalid, Expect.Invalid);
            default:
                header["zz_not_a_tensor"] = Raw(new[] { "1", "\"x\"", "null", "[]", "{}" }[rng.Next(5)]);
                return new("fields", "extra top-level key that is no tensor entry", WithHeader(header.ToJsonString()), Expect.Invalid, Expect.Invalid);
        }
    }

    private Variant ForgeNames(Random rng)
    {
        var t = Pick(rng);
        string name = new[] { "zz.unknown.weight", "ü✓名.weight", "", " ", t.Name + " ", t.Name.ToUpperInvariant(), "a\u0000b", t.Name + ".lora_A.weight", "model.layers.99.mlp.up_proj.weight" }[rng.Next(9)];
        if (name == t.Name) name += "x";
        var header = new JsonObject();
        foreach (var (k, v) in Header()) header[k == t.Name ? name : k] = v?.DeepClone();
        // A renamed tensor is still a valid file; the model (or adapter) loader must refuse the unknown name.
        return new("names", $"'{t.Name}' renamed to {JsonSerializer.Serialize(name)}", WithHeader(header.ToJsonString()), Expect.Loaded, Expect.Invalid);
    }

    private Variant ForgeMetadata(Random rng)
    {
        var header = Header();
        string description;
        Expect? file = null;
        switch (rng.Next(4))
        {
            case 0:
                header.Remove("__metadata__");
                description = "no __metadata__";
                file = Expect.Loaded;
                break;
            case 1:
                string raw = new[] { "[]", "\"pt\"", "1", "null", "{\"format\":1}", "{\"format\":null}", "{\"format\":[\"pt\"]}" }[rng.Next(7)];
                header["__metadata__"] = Raw(raw);
                description = $"__metadata__ -> {raw}";
                file = Expect.Invalid;
                break;
            default:
                var meta = header["__metadata__"] as JsonObject ?? new JsonObject();
                header["__metadata__"] = meta;
                string key = meta.Count > 0 && rng.Next(4) > 0 ? meta.ElementAt(rng.Next(meta.Count)).Key : new[] { "format", "r", "lora_alpha", "target_modules", "extra" }[rng.Next(5)];
                string text = Texts[rng.Next(Texts.Length)];
                meta[key] = text;
                description = $"__metadata__.{key} -> {JsonSerializer.Serialize(text)}";
                file = Expect.Loaded;
                break;
        }
        return new("metadata", description, WithHeader(header.ToJsonString()), file, file == Expect.Invalid ? Expect.Invalid : null);
    }

    private Variant RawText(Random rng)
    {
        var t = Pick(rng);
        string quoted = JsonSerializer.Serialize(t.Name);
        switch (rng.Next(9))
        {
            case 0:
            {
                // A duplicate key: JsonObject cannot hold one, so the text is edited.
                var dup = Header()[t.Name]!.ToJsonString();
                string text = "{" + quoted + ":" + dup + "," + _headerText[1..];
                return new("raw", $"'{t.Name}' appears twice", WithHeader(text), Expect.Invalid, Expect.Invalid);
            }
            case 1:
            {
                string text = _headerText.Replace("\"__metadata__\"", "\"" + t.Name.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"");
                if (text == _headerText) text = "{\"__metadata__\":{},\"__metadata__\":{}," + _headerText[1..];
                return new("raw", "__metadata__ renamed to a tensor's name, or given twice", WithHeader(text), Expect.Invalid, Expect.Invalid);
            }
            case 2:
            {
                string escape = new[] { "\\ud800", "\\udc00", "\\ud800\\u0041", "\\udfff\\ud800" }[rng.Next(4)];
                string text = rng.Next(2) == 0 ? _headerText : _headerText.Replace(quoted + ":{\"dtype\":\"" + t.DType + "\"", quoted + ":{\"dtype\":\"" + escape + "\"");
                if (text == _headerText) text = _headerText.Replace(quoted + ":", "\"" + escape + t.Name[1..] + "\":");
                return new("raw", $"unpaired surrogate escape {escape} in '{t.Name}' (name or dtype)", WithHeader(text), Expect.Invalid, Expect.Invalid);
            }
            case 3:
            {
                // Invalid UTF-8 inside a string: a lone continuation byte, an overlong form, an encoded surrogate, beyond U+10FFFF.
                byte[][] bad = { new byte[] { 0x80 }, new byte[] { 0xC0, 0x80 }, new byte[] { 0xED, 0xA0, 0x80 }, new byte[] { 0xF4, 0x90, 0x80, 0x80 }, new byte[] { 0xFF }, new byte[] { 0xE2, 0x82 } };
                var b = bad[rng.Next(bad.Length)];
                var json = Encoding.UTF8.GetBytes(_headerText);
                int at = json.AsSpan().IndexOf(Encoding.UTF8.GetBytes(quoted)) + 1 + rng.Next(Math.Max(1, Encoding.UTF8.GetByteCount(t.Name)));
                var forged = json[..at].Concat(b).Concat(json[at..]).ToArray();
                return new("raw", $"invalid UTF-8 {Convert.ToHexString(b)} inside '{t.Name}'", WithHeaderBytes(forged), Expect.Invalid, Expect.Invalid);
            }
            case 4:
            {
                var json = new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Encoding.UTF8.GetBytes(_headerText)).ToArray();
                return new("raw", "UTF-8 byte order mark before the header", WithHeaderBytes(json), Expect.Invalid, Expect.Invalid);
            }
            case 5:
            {
                string[] headers =
                {
                    "[]", "null", "\"x\"", "1", "{}", "{", "", "{\"a\":1}", new string('[', 70) + new string(']', 70),
                    string.Concat(Enumerable.Repeat("{\"a\":", 70)) + "1" + new string('}', 70), _headerText + "x", _headerText + "{}",
                    "/*c*/" + _headerText, _headerText.Replace(",", ",,"), _headerText.Replace(":", "="), _headerText[..^1],
                };
                int k = rng.Next(headers.Length);
                return new("raw", $"header text #{k} ({Short(headers[k])})", WithHeader(headers[k]), Expect.Invalid, Expect.Invalid);
            }
            case 6:
            {
                // A NUL byte (not JSON whitespace) where whitespace would be fine.
                var json = Encoding.UTF8.GetBytes(_headerText);
                int at = 1 + rng.Next(json.Length - 1);
                while (at < json.Length && json[at - 1] != (byte)',' && json[at - 1] != (byte)'{') at++;
                var forged = json[..at].Append((byte)0).Concat(json[at..]).ToArray();
                return new("raw", $"NUL byte at header offset {at}", WithHeaderBytes(forged), Expect.Invalid, Expect.Invalid);
            }
            case 7:
            {
                // JSON whitespace between tokens is fine.
                string text = Header().ToJsonString(new JsonSerializerOptions { WriteIndented = true });
                return new("raw", "whitespace between every token", WithHeader(text), Expect.Loaded, Expect.Loaded);
            }
            default:
            {
                // Escaped characters in a name decode to the same name: "\u0061" is "a".
                string escaped = "\"" + string.Concat(t.Name.Select(c => c < 128 && char.IsLetter(c) && rng.Next(2) == 0 ? $"\\u{(int)c:x4}" : c.ToString())) + "\"";
                string text = _headerText.Replace(quoted + ":", escaped + ":");
                return new("raw", $"'{t.Name}' written with \\u escapes", WithHeader(text), Expect.Loaded, Expect.Loaded);
            }
        }
    }

    private Variant Pad(Random rng)
    {
        var json = Encoding.UTF8.GetBytes(_headerText);
        int pad = new[] { 0, 1, 7, 8, 4096, 70_000 }[rng.Next(6)];
        byte padByte = new[] { (byte)' ', (byte)'\n', (byte)'\t', (byte)'\r', (byte)0, (byte)'x' }[rng.Next(6)];
        bool whitespace = padByte is (byte)' ' or (byte)'\n' or (byte)'\t' or (byte)'\r' || pad == 0;
        var expect = whitespace ? Expect.Loaded : Expect.Invalid;
        return new("pad", $"header padded with {pad} bytes 0x{padByte:X2}", WithHeaderBytes(json, pad: pad, padByte: padByte), expect, expect);
    }

    // ---- consistent re-layouts: every offset recomputed, so the file is valid ------------------------------------------

    /// <summary>A dense file holding <paramref name="tensors"/> in this order, with the original metadata.</summary>
    private byte[] Build(IEnumerable<Tensor> tensors)
    {
        var header = new JsonObject();
        if (_metadata is not null) header["__metadata__"] = _metadata.DeepClone();
        var data = new MemoryStream();
        foreach (var t in tensors)
        {
            header[t.Name] = new JsonObject
            {
                ["dtype"] = t.DType,
                ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(data.Length, data.Length + t.Bytes.Length),
            };
            data.Write(t.Bytes);
        }
        return WithHeader(header.ToJsonString(), data.ToArray());
    }

    private static int SizeOf(string dtype) => dtype switch { "F64" or "I64" => 8, "F32" or "I32" => 4, "F16" or "BF16" or "I16" => 2, _ => 1 };

    private static byte[] Resize(byte[] bytes, long length)
    {
        var result = new byte[length];
        for (long i = 0; i < length; i++) result[i] = bytes.Length == 0 ? (byte)0x3C : bytes[i % bytes.Length];
        return result;
    }

    /// <summary>One tensor given another dtype, its bytes re-cut to fit: a valid file whose dtype lies about the data.</summary>
    private Variant Relabel(Random rng)
    {
        var t = Pick(rng);
        string dtype = DTypes[rng.Next(DTypes.Length)];
        long n = t.Shape.Aggregate(1L, (a, b) => a * b);
        var forged = t with { DType = dtype, Bytes = Resize(t.Bytes, n * SizeOf(dtype)) };
        var bytes = Build(_tensors.Select(x => x == t ? forged : x));
        // The model path accepts floating point into floating-point parameters only (integer or boolean bits must never be
        // reinterpreted as weights).
        var model = FloatDTypes.Contains(dtype) ? Expect.Loaded : Expect.Invalid;
        return new("relabel", $"'{t.Name}' {t.DType} -> {dtype}, shape kept, data re-cut", bytes, Expect.Loaded, model);
    }

    private Variant Relayout(Random rng)
    {
        switch (rng.Next(6))
        {
            case 5:
            {
                // No elements, so no bytes and a consistent layout, but dimensions whose strides overflow (or come close).
                long[][] shapes =
                {
                    new long[] { 0, 1L << 62, 1L << 62 }, new long[] { 1L << 62, 1L << 62, 0 }, new long[] { 0, long.MaxValue }, new long[] { 0, 1L << 61 },
                    new long[] { 0, 1L << 60 }, new long[] { 3037000500, 3037000500, 0 }, new long[] { 0, 1L << 40 }, new long[] { 0, 0, long.MaxValue, 2 },
                };
                var t = Pick(rng);
                var shape = shapes[rng.Next(shapes.Length)];
                var forged = t with { Shape = shape, Bytes = Array.Empty<byte>() };
                return new("relayout", $"'{t.Name}' given the empty shape [{string.Join(",", shape)}]", Build(_tensors.Select(x => x == t ? forged : x)), null, Expect.Invalid);
            }
            case 0:
            {
                var t = Pick(rng);
                return new("relayout", $"'{t.Name}' dropped", Build(_tensors.Where(x => x != t)), Expect.Loaded, Expect.Invalid);
            }
            case 1:
            {
                var extra = new Tensor($"zz.extra{rng.Next(100)}.weight", DTypes[rng.Next(DTypes.Length)], new long[] { 1 + rng.Next(4) }, Array.Empty<byte>());
                extra = extra with { Bytes = Resize(_data, extra.Shape[0] * SizeOf(extra.DType)) };
                var list = _tensors.ToList();
                list.Insert(rng.Next(list.Count + 1), extra);
                return new("relayout", $"extra tensor '{extra.Name}' {extra.DType}[{extra.Shape[0]}]", Build(list), Expect.Loaded, Expect.Invalid);
            }
            case 2:
            {
                var a = Pick(rng);
                var b = Pick(rng);
                var swapped = _tensors.Select(x => x == a ? x with { Name = b.Name } : x == b ? x with { Name = a.Name } : x);
                bool same = a.DType == b.DType && a.Shape.SequenceEqual(b.Shape);
                return new("relayout", $"names of '{a.Name}' and '{b.Name}' swapped", Build(swapped), Expect.Loaded, same ? Expect.Loaded : Expect.Invalid);
            }
            case 3:
            {
                var order = _tensors.OrderBy(_ => rng.Next()).ToList();
                return new("relayout", "tensors stored in another order", Build(order), Expect.Loaded, Expect.Loaded);
            }
            default:
            {
                // Another shape with its bytes re-cut: valid file, and the model loader must refuse it unless the shape is unchanged.
                var t = Pick(rng);
                var shape = t.Shape.Length == 0 ? new long[] { 1 + rng.Next(3) } : t.Shape.Select(d => d).ToArray();
                if (t.Shape.Length > 0) shape[rng.Next(shape.Length)] = new long[] { 0, 1, 2, 3, 5, 64 }[rng.Next(6)];
                long n = shape.Aggregate(1L, (x, y) => x * y);
                var forged = t with { Shape = shape, Bytes = Resize(t.Bytes, n * SizeOf(t.DType)) };
                bool same = shape.SequenceEqual(t.Shape);
                return new("relayout", $"'{t.Name}' reshaped [{string.Join(",", t.Shape)}] -> [{string.Join(",", shape)}], data re-cut",
                    Build(_tensors.Select(x => x == t ? forged : x)), Expect.Loaded, same ? Expect.Loaded : Expect.Invalid);
            }
        }
    }

    private static string Short(string s) => s.Length <= 60 ? s : s[..60] + "...";
}
