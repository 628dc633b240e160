using System.Text;
using TorchSharp;
using U2A.Core.Models.Checkpoints;
using static TorchSharp.torch;

namespace U2A.Core.Tests.Models;

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
