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

    private static ushort FlagsOf(string path) =>
        ElfVersionNeedPatcher.ReadVersionNeeds(File.ReadAllBytes(path), path).Single(n => n.Name == Version).Flags;

    [Theory]
    [InlineData(false, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute)]
    [InlineData(true, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute)]
    [InlineData(false, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.OtherRead)]
    [InlineData(true, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.OtherRead)]
    public void Patching_a_link_into_the_cache_replaces_the_link_and_leaves_its_target_untouched(bool symbolic, UnixFileMode mode)
    {
        if (!OperatingSystem.IsLinux()) return;
        // Stands in for the NuGet cache: MSBuild's CreateHardLinksForCopyLocalIfPossible / CreateSymbolicLinksForCopyLocalIfPossible
        // make the output file a link to it.
        string cache = Path.Combine(Directory.CreateDirectory(Path.Combine(_dir, "cache")).FullName, "libLibTorchSharp.so");
        File.Copy(CachedLibrary, cache);
        File.SetUnixFileMode(cache, mode);
        var stamp = new DateTime(2021, 3, 4, 5, 6, 7, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(cache, stamp);
        byte[] original = File.ReadAllBytes(cache);
        string output = Path.Combine(Directory.CreateDirectory(Path.Combine(_dir, "bin")).FullName, "libLibTorchSharp.so");
        if (symbolic) File.CreateSymbolicLink(output, cache);
        else
        {
            using var ln = System.Diagnostics.Process.Start("ln", new[] { cache, output })!;
            ln.WaitForExit();
            Assert.Equal(0, ln.ExitCode);
        }

        Assert.Equal(ElfPatchOutcome.Patched, ElfVersionNeedPatcher.Patch(output, "libstdc++.so.6", Version));

        Assert.Equal(original, File.ReadAllBytes(cache));
        Assert.Equal(0, FlagsOf(cache) & ElfVersionNeedPatcher.VerFlagWeak);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(cache));
        var info = new FileInfo(output);
        Assert.Null(info.LinkTarget); // a regular file now
        Assert.NotEqual(0, FlagsOf(output) & ElfVersionNeedPatcher.VerFlagWeak);
        Assert.Equal(mode, File.GetUnixFileMode(output));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(output));
        Assert.Equal(new[] { "libLibTorchSharp.so" }, Directory.GetFiles(Path.GetDirectoryName(output)!).Select(Path.GetFileName)); // no temp left
    }

    private static bool Defines(string path, string version) => path == "/new/libstdc++.so.6";

    [Theory]
    [InlineData("", PatchMode.Auto)]
    [InlineData("auto", PatchMode.Auto)]
    [InlineData("true", PatchMode.Auto)]
    [InlineData("True", PatchMode.Auto)]
    [InlineData("ALWAYS", PatchMode.Always)]
    [InlineData(" always ", PatchMode.Always)]
    [InlineData("false", PatchMode.Off)]
    public void Mode_property_values_parse(string value, PatchMode expected)
    {
        Assert.True(PatchPolicy.TryParseMode(value, out var mode));
        Assert.Equal(expected, mode);
    }

    [Theory]
    [InlineData("yes")]
    [InlineData("on")]
    [InlineData("0")]
    public void Unknown_mode_values_are_rejected(string value) => Assert.False(PatchPolicy.TryParseMode(value, out _));

    [Theory]
    // mode, build host is Linux, host libstdc++, expected patch
    [InlineData(PatchMode.Off, true, "/old/libstdc++.so.6", false)]
    [InlineData(PatchMode.Off, false, null, false)]
    [InlineData(PatchMode.Auto, true, "/old/libstdc++.so.6", true)]
    [InlineData(PatchMode.Auto, true, "/new/libstdc++.so.6", false)]
    [InlineData(PatchMode.Auto, true, null, true)]
    [InlineData(PatchMode.Auto, false, null, false)] // Windows or macOS host: only 'always' patches for a Linux target
    [InlineData(PatchMode.Always, true, "/new/libstdc++.so.6", true)] // publishing from a newer host for Debian 12
    [InlineData(PatchMode.Always, false, null, true)] // publishing -r linux-x64 from Windows
    public void Decision_follows_the_mode_the_build_os_and_the_host_library(PatchMode mode, bool linux, string? host, bool patch)
    {
        var decision = PatchPolicy.Decide(mode, linux, host, null, Defines);
        Assert.Equal(patch, decision.Patch);
        Assert.False(decision.Warn);
        Assert.False(string.IsNullOrEmpty(decision.Reason));
    }

    [Fact]
    public void Unreadable_host_library_gives_a_warning_naming_it_and_a_patch_instead_of_a_crash()
    {
        foreach (Exception error in new Exception[] { new IOException("boom"), new UnauthorizedAccessException("denied"), new InvalidDataException("not ELF") })
        {
            var decision = PatchPolicy.Decide(PatchMode.Auto, true, "/odd/libstdc++.so.6", null, (_, _) => throw error);
            Assert.True(decision.Patch);
            Assert.True(decision.Warn);
            Assert.Contains("/odd/libstdc++.so.6", decision.Reason);
            Assert.Contains(error.Message, decision.Reason);
        }
        // The real reader on files that are not ELF libraries throws what Decide turns into the warning.
        string text = Path.Combine(_dir, "libstdc++.so.6");
        File.WriteAllText(text, "not a library");
        var fromFile = PatchPolicy.Decide(PatchMode.Auto, true, text, text, ElfVersionNeedPatcher.DefinesVersion);
        Assert.True(fromFile.Patch && fromFile.Warn);
        Assert.Contains(text, fromFile.Reason);
        var missing = PatchPolicy.Decide(PatchMode.Auto, true, Path.Combine(_dir, "gone.so"), null, ElfVersionNeedPatcher.DefinesVersion);
        Assert.True(missing.Patch && missing.Warn);
    }

    [Fact]
    public void A_named_host_library_that_does_not_exist_is_a_warning()
    {
        string named = Path.Combine(_dir, "nowhere", "libstdc++.so.6");
        Assert.Null(HostLibStdCxx.Find(named));
        var decision = PatchPolicy.Decide(PatchMode.Auto, true, HostLibStdCxx.Find(named), named, Defines);
        Assert.True(decision.Patch && decision.Warn);
        Assert.Contains(named, decision.Reason);
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
