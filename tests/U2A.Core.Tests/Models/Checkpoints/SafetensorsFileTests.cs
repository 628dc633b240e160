using System.Text;
using TorchSharp;
using U2A.Core.Models.Checkpoints;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Models.Checkpoints;

/// <summary>The safetensors reader and writer: every supported dtype round-trips bit for bit, and every malformed header
/// or data layout is an <see cref="InvalidDataException"/> naming the file and the tensor or field (never a raw
/// InvalidOperationException, ArgumentException or OverflowException, and never silently accepted).</summary>
public sealed class SafetensorsFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("u2a-safetensors-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Writes a file with exactly this header text and <paramref name="dataBytes"/> data bytes.</summary>
    private string Crafted(string header, int dataBytes, string name = "crafted.safetensors")
    {
        string path = Path.Combine(_dir, name);
        var json = Encoding.UTF8.GetBytes(header);
        using var stream = File.Create(path);
        stream.Write(BitConverter.GetBytes((ulong)json.Length));
        stream.Write(json);
        stream.Write(new byte[dataBytes]);
        return path;
    }

    /// <summary>Writes a file with exactly these header bytes and <paramref name="dataBytes"/> data bytes.</summary>
    private string CraftedBytes(byte[] json, int dataBytes, string name = "crafted.safetensors")
    {
        string path = Path.Combine(_dir, name);
        using var stream = File.Create(path);
        stream.Write(BitConverter.GetBytes((ulong)json.Length));
        stream.Write(json);
        stream.Write(new byte[dataBytes]);
        return path;
    }

    /// <summary>Both ReadHeader and Load reject the file with an InvalidDataException naming the path and every given fragment.</summary>
    private static void AssertRejected(string path, params string[] fragments)
    {
        var e1 = Assert.Throws<InvalidDataException>(() => SafetensorsFile.ReadHeader(path));
        var e2 = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Load(path));
        foreach (var e in new[] { e1, e2 })
        {
            Assert.Contains(path, e.Message);
            foreach (var f in fragments) Assert.Contains(f, e.Message);
        }
    }

    public static TheoryData<ScalarType> DTypes => new()
    {
        ScalarType.Float64, ScalarType.Float32, ScalarType.Float16, ScalarType.BFloat16, ScalarType.Int64,
        ScalarType.Int32, ScalarType.Int16, ScalarType.Int8, ScalarType.Byte, ScalarType.Bool,
    };

    [Theory]
    [MemberData(nameof(DTypes))]
    public void Every_supported_dtype_round_trips_bit_for_bit(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var source = (arange(-7, 17, dtype: ScalarType.Float64) * 1.37).reshape(2, 3, 4);
        var matrix = dtype == ScalarType.Bool ? source.gt(0) : source.to_type(dtype);
        var scalar = dtype == ScalarType.Bool ? tensor(true) : full(Array.Empty<long>(), 3, dtype: dtype);
        var tensors = new Dictionary<string, Tensor>
        {
            ["b.matrix"] = matrix,
            ["a.scalar"] = scalar,
            ["c.empty"] = empty(new long[] { 0, 5 }, dtype: dtype),
        };
        string path = Path.Combine(_dir, $"{dtype}.safetensors");
        SafetensorsFile.Save(path, tensors, new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ü ✓" });

        var (entries, metadata, dataStart) = SafetensorsFile.ReadHeader(path);
        Assert.Equal(0, dataStart % 8);
        Assert.Equal(new[] { "a.scalar", "b.matrix", "c.empty" }, entries.Select(e => e.Name).OrderBy(n => n, StringComparer.Ordinal));
        Assert.Equal("ü ✓", metadata["note"]);
        var loaded = SafetensorsFile.Load(path);
        try
        {
            foreach (var (name, expected) in tensors)
            {
                var actual = loaded[name];
                Assert.Equal(dtype, actual.dtype);
                Assert.Equal(expected.shape, actual.shape);
                Assert.Equal(expected.bytes.ToArray(), actual.bytes.ToArray());
            }
        }
        finally
        {
            foreach (var t in loaded.Values) t.Dispose();
        }
    }

    [Fact]
    public void A_well_formed_crafted_file_is_accepted() // the baseline the malformed cases below depart from
    {
        string path = Crafted("""{"__metadata__":{"format":"pt"},"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"U8","shape":[0],"data_offsets":[8,8]}}""", 8);
        var (entries, metadata, _) = SafetensorsFile.ReadHeader(path);
        Assert.Equal(2, entries.Count);
        Assert.Equal("pt", metadata["format"]);
    }

    [Fact]
    public void Numeric_dtype_is_rejected_naming_the_tensor_and_field() =>
        AssertRejected(Crafted("""{"x":{"dtype":7,"shape":[2],"data_offsets":[0,8]}}""", 8), "'x'", "'dtype'", "7");

    [Fact]
    public void Unknown_dtype_is_rejected_naming_the_tensor() =>
        AssertRejected(Crafted("""{"x":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}""", 2), "'x'", "F8_E4M3");

    [Fact]
    public void Duplicate_tensor_key_is_rejected_naming_the_tensor() =>
        AssertRejected(Crafted("""{"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"x":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}""", 4),
            "'x'", "twice");

    [Fact]
    public void Duplicate_metadata_key_is_rejected() =>
        AssertRejected(Crafted("""{"__metadata__":{"a":"1"},"__metadata__":{"a":"2"},"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}""", 2),
            "__metadata__", "twice");

    [Fact]
    public void Shape_whose_element_count_overflows_is_rejected_naming_the_tensor() =>
        AssertRejected(Crafted("""{"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}""", 8), "'x'", "'shape'");

    [Fact]
    public void Shape_whose_byte_count_overflows_is_rejected_naming_the_tensor() =>
        AssertRejected(Crafted("""{"x":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}}""", 8), "'x'", "'shape'");

    [Theory]
    [InlineData("""[2.5]""")]
    [InlineData("""[-1]""")]
    [InlineData("""["2"]""")]
    [InlineData("""[null]""")]
    [InlineData("""[18446744073709551616]""")]
    [InlineData("""2""")]
    public void Shape_that_is_not_an_array_of_non_negative_integers_is_rejected(string shape) =>
        AssertRejected(Crafted($$$"""{"x":{"dtype":"U8","shape":{{{shape}}},"data_offsets":[0,2]}}""", 2), "'x'", "'shape'");

    [Theory]
    [InlineData("""[0]""")]
    [InlineData("""[0,1,2]""")]
    [InlineData("""[0,"2"]""")]
    [InlineData("""[-2,0]""")]
    [InlineData("""{"a":0}""")]
    public void Data_offsets_that_are_not_two_non_negative_integers_are_rejected(string offsets) =>
        AssertRejected(Crafted($$$"""{"x":{"dtype":"U8","shape":[2],"data_offsets":{{{offsets}}}}}""", 2), "'x'", "'data_offsets'");

    [Fact]
    public void Missing_fields_are_rejected_naming_them()
    {
        AssertRejected(Crafted("""{"x":{"shape":[2],"data_offsets":[0,2]}}""", 2, "a.safetensors"), "'x'", "'dtype'");
        AssertRejected(Crafted("""{"x":{"dtype":"U8","data_offsets":[0,2]}}""", 2, "b.safetensors"), "'x'", "'shape'");
        AssertRejected(Crafted("""{"x":{"dtype":"U8","shape":[2]}}""", 2, "c.safetensors"), "'x'", "'data_offsets'");
        AssertRejected(Crafted("""{"x":[1,2]}""", 2, "d.safetensors"), "'x'", "not an object");
    }

    [Fact]
    public void Byte_count_that_does_not_match_the_shape_is_rejected() =>
        AssertRejected(Crafted("""{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8), "'x'", "expected 12");

    [Fact]
    public void Offsets_past_the_end_of_the_data_are_rejected() =>
        AssertRejected(Crafted("""{"x":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}""", 2), "'x'", "outside");

    [Fact]
    public void Overlapping_tensors_are_rejected_naming_both() =>
        AssertRejected(Crafted("""{"x":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"y":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}""", 4),
            "'x'", "'y'", "overlap");

    [Fact]
    public void Gap_between_tensors_is_rejected_naming_both() =>
        AssertRejected(Crafted("""{"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"y":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}}""", 5),
            "'x'", "'y'", "gap of 1");

    [Fact]
    public void Unused_bytes_before_the_first_tensor_are_rejected() =>
        AssertRejected(Crafted("""{"x":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}""", 4), "'x'", "[0, 2)");

    [Fact]
    public void Trailing_unused_bytes_are_rejected_naming_the_last_tensor() =>
        AssertRejected(Crafted("""{"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}""", 5), "'x'", "3 trailing bytes");

    [Fact]
    public void Data_without_any_tensor_is_rejected() =>
        AssertRejected(Crafted("""{"__metadata__":{"format":"pt"}}""", 4), "4 bytes of data but no tensors");

    [Theory]
    [InlineData("[]", "an array")]
    [InlineData("\"pt\"", "a string")]
    [InlineData("null", "null")]
    public void Metadata_that_is_not_an_object_is_rejected(string metadata, string kind) =>
        AssertRejected(Crafted($$$"""{"__metadata__":{{{metadata}}},"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}""", 2),
            "__metadata__", kind);

    [Theory]
    [InlineData("""1""", "the number 1")]
    [InlineData("""true""", "the boolean true")]
    [InlineData("""null""", "null")]
    [InlineData("""{"a":"b"}""", "an object")]
    [InlineData("""["a"]""", "an array")]
    public void Metadata_value_that_is_not_a_string_is_rejected_naming_the_field(string value, string kind) =>
        AssertRejected(Crafted($$$"""{"__metadata__":{"format":"pt","r":{{{value}}}},"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}""", 2),
            "__metadata__", "'r'", kind);

    [Fact]
    public void Header_that_is_not_a_json_object_or_not_json_is_rejected()
    {
        AssertRejected(Crafted("""[1,2]""", 0, "array.safetensors"), "not a JSON object");
        AssertRejected(Crafted("""{"x":""", 0, "truncated.safetensors"), "not valid JSON");
    }

    [Theory]
    [InlineData(new byte[] { 0xFF })] // never valid in UTF-8
    [InlineData(new byte[] { 0xC0, 0x80 })] // overlong encoding of NUL
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })] // an encoded surrogate
    [InlineData(new byte[] { 0xE2, 0x82 })] // a sequence cut short
    public void Invalid_utf8_in_the_header_is_an_InvalidDataException_naming_the_file_and_the_offset(byte[] bad)
    {
        // System.Text.Json reads such a string lazily and throws InvalidOperationException (no file name) when it is used.
        var json = Encoding.UTF8.GetBytes("""{"ab":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}""");
        var forged = json[..3].Concat(bad).Concat(json[3..]).ToArray(); // inside the name "ab"
        AssertRejected(CraftedBytes(forged, 2), "UTF-8", "header offset 3", "file offset 11");
    }

    [Theory]
    [InlineData("""{"\ud800":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}""", "header key number 1")]
    [InlineData("""{"x":{"dtype":"\udc00","shape":[2],"data_offsets":[0,2]}}""", "'x': field 'dtype'")]
    [InlineData("""{"__metadata__":{"\ud800x":"1"},"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}""", "'__metadata__' key number 1")]
    [InlineData("""{"__metadata__":{"format":"\ud800"},"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}""", "'__metadata__' field 'format'")]
    public void An_unpaired_surrogate_escape_is_an_InvalidDataException_naming_the_key_or_field(string header, string where) =>
        AssertRejected(Crafted(header, 2), where, "not valid text");

    [Theory]
    [InlineData("[0,4611686018427387904,4611686018427387904]")] // the review's case: no elements, strides overflow
    [InlineData("[4611686018427387904,4611686018427387904,0]")]
    [InlineData("[0,2305843009213693952]")] // 2^61 float32 elements: 2^63 bytes of stride extent
    [InlineData("[0,0,9223372036854775807,2]")]
    public void An_empty_shape_whose_strides_overflow_is_rejected_before_libtorch_sees_it(string shape) =>
        AssertRejected(Crafted($$$"""{"x":{"dtype":"F32","shape":{{{shape}}},"data_offsets":[0,0]}}""", 0), "'x'", "'shape'", "overflows");

    [Fact]
    public void An_empty_shape_whose_strides_fit_loads()
    {
        string path = Crafted("""{"x":{"dtype":"F32","shape":[0,1152921504606846976],"data_offsets":[0,0]}}""", 0); // [0, 2^60]
        var loaded = SafetensorsFile.Load(path);
        using var x = loaded["x"];
        Assert.Equal(new[] { 0L, 1L << 60 }, x.shape);
    }

    [Fact]
    public void A_shape_with_more_dimensions_than_MaxRank_is_rejected()
    {
        string ones = string.Join(",", Enumerable.Repeat("1", SafetensorsFile.MaxRank + 1));
        AssertRejected(Crafted($$$"""{"x":{"dtype":"U8","shape":[{{{ones}}}],"data_offsets":[0,1]}}""", 1), "'x'", "'shape'", $"{SafetensorsFile.MaxRank + 1} dimensions");
        string fits = string.Join(",", Enumerable.Repeat("1", SafetensorsFile.MaxRank));
        var loaded = SafetensorsFile.Load(Crafted($$$"""{"x":{"dtype":"U8","shape":[{{{fits}}}],"data_offsets":[0,1]}}""", 1, "fits.safetensors"));
        using var x = loaded["x"];
        Assert.Equal(SafetensorsFile.MaxRank, x.shape.Length);
    }

    [Fact]
    public void Save_rejects_an_unsupported_dtype_with_an_argument_exception_naming_path_and_tensor_and_writes_nothing()
    {
        using var scope = NewDisposeScope();
        string path = Path.Combine(_dir, "complex.safetensors");
        var tensors = new Dictionary<string, Tensor> { ["fine"] = ones(2), ["z"] = ones(2).to_type(ScalarType.ComplexFloat32) };
        var e = Assert.Throws<ArgumentException>(() => SafetensorsFile.Save(path, tensors));
        Assert.Contains(path, e.Message);
        Assert.Contains("'z'", e.Message);
        Assert.Contains("ComplexFloat32", e.Message);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void Save_rejects_a_tensor_named_like_the_metadata()
    {
        using var scope = NewDisposeScope();
        string path = Path.Combine(_dir, "reserved.safetensors");
        var e = Assert.Throws<ArgumentException>(() => SafetensorsFile.Save(path, new Dictionary<string, Tensor> { ["__metadata__"] = ones(2) }));
        Assert.Contains(path, e.Message);
        Assert.Contains("__metadata__", e.Message);
    }
}
