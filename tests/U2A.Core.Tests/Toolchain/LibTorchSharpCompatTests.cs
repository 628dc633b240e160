using System.IO.Compression;
using System.Reflection;
using U2A.Build;

namespace U2A.Core.Tests.Toolchain;

/// <summary>The libstdc++ compatibility step, tested on copies of the real libLibTorchSharp.so.</summary>
public sealed class LibTorchSharpCompatTests : IDisposable
{
    private const string Version = "GLIBCXX_3.4.32";
    private readonly string _dir = Directory.CreateTempSubdirectory("u2a-compat-").FullName;

    private static string Metadata(string key) =>
        typeof(LibTorchSharpCompatTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    private static string PackageFolder => Path.Combine(Metadata("NuGetPackageRoot"), "torchsharp", Metadata("TorchSharpVersion"));
    private static string CachedLibrary => Path.Combine(PackageFolder, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    private string CopyOfRealLibrary()
    {
        string copy = Path.Combine(_dir, "libLibTorchSharp.so");
        File.Copy(CachedLibrary, copy, overwrite: true);
        return copy;
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Nuget_cache_copy_is_byte_identical_to_the_one_in_the_package()
    {
        string nupkg = Path.Combine(PackageFolder, $"torchsharp.{Metadata("TorchSharpVersion")}.nupkg");
        using var zip = ZipFile.OpenRead(nupkg);
        var entry = zip.GetEntry("runtimes/linux-x64/native/libLibTorchSharp.so")!;
        using var stream = entry.Open();
        using var packed = new MemoryStream();
        stream.CopyTo(packed);
        Assert.True(packed.ToArray().AsSpan().SequenceEqual(File.ReadAllBytes(CachedLibrary)),
            "the build must never patch the NuGet cache");
    }

    [Fact]
    public void Real_library_needs_glibcxx_3_4_32_strongly_and_relocates_none_of_its_symbols()
    {
        byte[] elf = File.ReadAllBytes(CachedLibrary);
        var needs = ElfVersionNeedPatcher.ReadVersionNeeds(elf, CachedLibrary);
        var need = needs.Single(n => n.Name == Version);
        Assert.Equal("libstdc++.so.6", need.File);
        Assert.Equal(0, need.Flags & ElfVersionNeedPatcher.VerFlagWeak);
        Assert.Empty(ElfVersionNeedPatcher.RelocatedSymbolsOfVersion(elf, CachedLibrary, need.Index));
        // The safety check can fail: symbols of an older libstdc++ version are relocated.
        var used = needs.Single(n => n.Name == "GLIBCXX_3.4.9");
        Assert.NotEmpty(ElfVersionNeedPatcher.RelocatedSymbolsOfVersion(elf, CachedLibrary, used.Index));
    }

    [Fact]
    public void Patch_sets_the_weak_flag_on_exactly_the_glibcxx_3_4_32_entry_and_nothing_else()
    {
        string copy = CopyOfRealLibrary();
        byte[] before = File.ReadAllBytes(copy);
        var needsBefore = ElfVersionNeedPatcher.ReadVersionNeeds(before, copy);

        Assert.Equal(ElfPatchOutcome.Patched, ElfVersionNeedPatcher.Patch(copy, "libstdc++.so.6", Version));

        byte[] after = File.ReadAllBytes(copy);
        Assert.Equal(before.Length, after.Length);
        var changed = Enumerable.Range(0, before.Length).Where(i => before[i] != after[i]).ToArray();
        var target = needsBefore.Single(n => n.Name == Version);
        Assert.Equal(new[] { (int)target.FlagsOffset }, changed); // one byte: the low byte of vna_flags
        var needsAfter = ElfVersionNeedPatcher.ReadVersionNeeds(after, copy);
        Assert.Equal(needsBefore.Count, needsAfter.Count);
        for (int i = 0; i < needsBefore.Count; i++)
        {
            ushort expected = needsBefore[i].Name == Version
                ? (ushort)(needsBefore[i].Flags | ElfVersionNeedPatcher.VerFlagWeak)
                : needsBefore[i].Flags;
            Assert.Equal(expected, needsAfter[i].Flags);
        }
    }

    [Fact]
    public void Second_patch_is_a_no_op_that_does_not_write_the_file()
    {
        string copy = CopyOfRealLibrary();
        ElfVersionNeedPatcher.Patch(copy, "libstdc++.so.6", Version);
        byte[] once = File.ReadAllBytes(copy);
        var stamp = new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(copy, stamp);

        Assert.Equal(ElfPatchOutcome.AlreadyWeak, ElfVersionNeedPatcher.Patch(copy, "libstdc++.so.6", Version));
        Assert.Equal(once, File.ReadAllBytes(copy));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(copy));
    }

    [Fact]
    public void A_version_the_library_does_not_need_is_reported_and_left_alone()
    {
        string copy = CopyOfRealLibrary();
        byte[] before = File.ReadAllBytes(copy);
        Assert.Equal(ElfPatchOutcome.NotRequired, ElfVersionNeedPatcher.Patch(copy, "libstdc++.so.6", "GLIBCXX_9.9.99"));
        Assert.Equal(before, File.ReadAllBytes(copy));
    }

    [Fact]
    public void Unexpected_files_fail_with_a_message_naming_the_file()
    {
        string text = Path.Combine(_dir, "not-elf.so");
        File.WriteAllText(text, "this is not an ELF shared library, just text of some length to pass the size check......");
        var e1 = Assert.Throws<InvalidDataException>(() => ElfVersionNeedPatcher.Patch(text, "libstdc++.so.6", Version));
        Assert.Contains(text, e1.Message);

        string truncated = Path.Combine(_dir, "truncated.so");
        File.WriteAllBytes(truncated, File.ReadAllBytes(CachedLibrary).AsSpan(0, 4096).ToArray());
        var e2 = Assert.Throws<InvalidDataException>(() => ElfVersionNeedPatcher.Patch(truncated, "libstdc++.so.6", Version));
        Assert.Contains(truncated, e2.Message);
        Assert.Contains("outside the file", e2.Message);
    }

    [Fact]
    public void Build_output_copy_is_patched_exactly_when_the_host_lacks_the_version()
    {
        if (!OperatingSystem.IsLinux()) return;
        string output = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        var need = ElfVersionNeedPatcher.ReadVersionNeeds(File.ReadAllBytes(output), output).Single(n => n.Name == Version);
        string? host = HostLibStdCxx.Find(null);
        bool hostHasIt = host != null && ElfVersionNeedPatcher.DefinesVersion(host, Version);
        Assert.Equal(!hostHasIt, (need.Flags & ElfVersionNeedPatcher.VerFlagWeak) != 0);
    }
}
