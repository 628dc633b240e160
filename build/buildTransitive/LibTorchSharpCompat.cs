// Compatibility step for TorchSharp 0.107.0's native shim on Linux hosts whose libstdc++ predates GCC 13
// (Debian 12, Ubuntu 22.04). libLibTorchSharp.so declares a need for GLIBCXX_3.4.32 only because of the
// link-time marker symbol _ZSt21ios_base_library_initv, which nothing relocates. Marking that one version
// requirement weak (VER_FLG_WEAK in its Vernaux entry) lets the dynamic loader accept the library.
//
// This file is compiled twice: by MSBuild's RoslynCodeTaskFactory as the task in U2A.Core.targets, and by the
// test project (with U2A_COMPAT_NO_MSBUILD defined) so the ELF logic is tested on a copy of the real library.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace U2A.Build
{
    /// <summary>Outcome of <see cref="ElfVersionNeedPatcher.Patch"/>.</summary>
    public enum ElfPatchOutcome
    {
        /// <summary>The requirement was strong and is now weak (one 2-byte field changed).</summary>
        Patched,
        /// <summary>The requirement was already weak: the file was not written.</summary>
        AlreadyWeak,
        /// <summary>The library does not need that version at all: nothing to do.</summary>
        NotRequired,
    }

    /// <summary>Reads and edits the GNU symbol-versioning sections of an ELF64 little-endian shared library.</summary>
    public static class ElfVersionNeedPatcher
    {
        private const uint ShtRela = 4;
        private const uint ShtDynsym = 11;
        private const uint ShtGnuVerdef = 0x6ffffffd;
        private const uint ShtGnuVerneed = 0x6ffffffe;
        private const uint ShtGnuVersym = 0x6fffffff;
        /// <summary>VER_FLG_WEAK from elf.h.</summary>
        public const ushort VerFlagWeak = 0x2;

        private struct Section
        {
            public uint Type;
            public long Offset;
            public long Size;
            public uint Link;
            public uint Info;
            public long EntSize;
        }

        /// <summary>Where the flags of one Vernaux entry live, and what they are.</summary>
        public struct VersionNeed
        {
            /// <summary>File the version is needed from (e.g. libstdc++.so.6).</summary>
            public string File;
            /// <summary>Version name (e.g. GLIBCXX_3.4.32).</summary>
            public string Name;
            /// <summary>Byte offset of the 2-byte vna_flags field in the file.</summary>
            public long FlagsOffset;
            /// <summary>Current vna_flags.</summary>
            public ushort Flags;
            /// <summary>vna_other: the version index used by .gnu.version.</summary>
            public ushort Index;
        }

        /// <summary>Lists every version requirement (.gnu.version_r) of the library.</summary>
        public static List<VersionNeed> ReadVersionNeeds(byte[] elf, string path)
        {
            var sections = ReadSections(elf, path);
            var result = new List<VersionNeed>();
            int found = -1;
            for (int i = 0; i < sections.Count; i++)
            {
                if (sections[i].Type == ShtGnuVerneed) { found = i; break; }
            }
            if (found < 0) return result;
            var vr = sections[found];
            var strtab = Get(sections, (int)vr.Link, path, ".gnu.version_r link");
            long entry = vr.Offset;
            for (uint n = 0; n < vr.Info; n++)
            {
                Check(elf, entry, 16, path, "Verneed entry");
                ushort cnt = U16(elf, entry + 2);
                string file = CString(elf, strtab, U32(elf, entry + 4), path);
                long aux = entry + U32(elf, entry + 8);
                for (int a = 0; a < cnt; a++)
                {
                    Check(elf, aux, 16, path, "Vernaux entry");
                    result.Add(new VersionNeed
                    {
                        File = file,
                        Name = CString(elf, strtab, U32(elf, aux + 8), path),
                        FlagsOffset = aux + 4,
                        Flags = U16(elf, aux + 4),
                        Index = (ushort)(U16(elf, aux + 6) & 0x7fff),
                    });
                    uint nextAux = U32(elf, aux + 12);
                    if (nextAux == 0) break;
                    aux += nextAux;
                }
                uint next = U32(elf, entry + 12);
                if (next == 0) break;
                entry += next;
            }
            return result;
        }

        /// <summary>Lists the version names a library defines (.gnu.version_d), e.g. the GLIBCXX_* of libstdc++.</summary>
        public static HashSet<string> ReadVersionDefinitions(byte[] elf, string path)
        {
            var sections = ReadSections(elf, path);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var s in sections)
            {
                if (s.Type != ShtGnuVerdef) continue;
                var strtab = Get(sections, (int)s.Link, path, ".gnu.version_d link");
                long entry = s.Offset;
                for (uint n = 0; n < s.Info; n++)
                {
                    Check(elf, entry, 20, path, "Verdef entry");
                    ushort cnt = U16(elf, entry + 6);
                    long aux = entry + U32(elf, entry + 12);
                    for (int a = 0; a < cnt; a++)
                    {
                        Check(elf, aux, 8, path, "Verdaux entry");
                        names.Add(CString(elf, strtab, U32(elf, aux), path));
                        uint nextAux = U32(elf, aux + 4);
                        if (nextAux == 0) break;
                        aux += nextAux;
                    }
                    uint next = U32(elf, entry + 16);
                    if (next == 0) break;
                    entry += next;
                }
            }
            return names;
        }

        /// <summary>
        /// Names of dynamic symbols bound to version index <paramref name="versionIndex"/> that some relocation
        /// refers to. Weakening a version is only safe when this is empty.
        /// </summary>
        public static List<string> RelocatedSymbolsOfVersion(byte[] elf, string path, ushort versionIndex)
        {
            var sections = ReadSections(elf, path);
            int dynsymIndex = -1, versymIndex = -1;
            for (int i = 0; i < sections.Count; i++)
            {
                if (sections[i].Type == ShtDynsym) dynsymIndex = i;
                if (sections[i].Type == ShtGnuVersym) versymIndex = i;
            }
            if (dynsymIndex < 0 || versymIndex < 0)
                throw new InvalidDataException(path + ": no .dynsym or .gnu.version section; not the ELF layout expected.");
            var dynsym = sections[dynsymIndex];
            var versym = sections[versymIndex];
            var strtab = Get(sections, (int)dynsym.Link, path, ".dynsym link");
            long symCount = dynsym.Size / 24;
            if (versym.Size / 2 != symCount)
                throw new InvalidDataException(path + ": .gnu.version has " + (versym.Size / 2) + " entries for " + symCount + " dynamic symbols.");
            var ofVersion = new HashSet<long>();
            for (long i = 0; i < symCount; i++)
            {
                Check(elf, versym.Offset + 2 * i, 2, path, ".gnu.version entry");
                if ((U16(elf, versym.Offset + 2 * i) & 0x7fff) == versionIndex) ofVersion.Add(i);
            }
            var relocated = new List<string>();
            foreach (var s in sections)
            {
                if (s.Type != ShtRela || s.Link != dynsymIndex) continue;
                if (s.EntSize != 24) throw new InvalidDataException(path + ": RELA entry size " + s.EntSize + ", expected 24.");
                for (long off = s.Offset; off + 24 <= s.Offset + s.Size; off += 24)
                {
                    Check(elf, off, 24, path, "RELA entry");
                    long sym = (long)(U64(elf, off + 8) >> 32);
                    if (ofVersion.Contains(sym))
                    {
                        string name = CString(elf, strtab, U32(elf, dynsym.Offset + 24 * sym), path);
                        if (!relocated.Contains(name)) relocated.Add(name);
                    }
                }
            }
            return relocated;
        }

        /// <summary>
        /// Marks the requirement of <paramref name="versionName"/> from <paramref name="fromFile"/> weak.
        /// Changes exactly one 2-byte field; refuses (throws <see cref="InvalidDataException"/>) when the ELF
        /// layout is not as expected or when a relocation actually uses a symbol of that version.
        /// The file is never written in place: the patched bytes go to a temporary file in the same folder (a copy of
        /// the original, so it keeps the unix permissions), which then replaces <paramref name="path"/> by a rename.
        /// A hard link or symbolic link at <paramref name="path"/> (MSBuild's CreateHardLinksForCopyLocalIfPossible or
        /// CreateSymbolicLinksForCopyLocalIfPossible, pointing into the NuGet cache) thus becomes a regular file and its
        /// target is left untouched. The last-write time of <paramref name="path"/> is kept, so MSBuild's incremental
        /// copy does not replace the patched file on the next build.
        /// </summary>
        public static ElfPatchOutcome Patch(string path, string fromFile, string versionName)
        {
            byte[] elf = File.ReadAllBytes(path);
            VersionNeed? target = null;
            foreach (var need in ReadVersionNeeds(elf, path))
            {
                if (need.File == fromFile && need.Name == versionName)
                {
                    if (target != null) throw new InvalidDataException(path + ": " + versionName + " is required twice.");
                    target = need;
                }
            }
            if (target == null) return ElfPatchOutcome.NotRequired;
            var t = target.Value;
            if ((t.Flags & VerFlagWeak) != 0) return ElfPatchOutcome.AlreadyWeak;
            var relocated = RelocatedSymbolsOfVersion(elf, path, t.Index);
            if (relocated.Count > 0)
                throw new InvalidDataException(path + ": symbols of " + versionName + " are relocated (" + string.Join(", ", relocated) +
                    "); marking the version weak would not be safe. Use a host with a newer libstdc++.");
            ushort flags = (ushort)(t.Flags | VerFlagWeak);
            string full = Path.GetFullPath(path);
            string temp = Path.Combine(Path.GetDirectoryName(full) ?? ".", "." + Path.GetFileName(full) + ".u2a-" + Guid.NewGuid().ToString("N"));
            try
            {
                // File.Copy follows a symbolic link and gives the new file the source's permissions.
                File.Copy(path, temp, overwrite: false);
                // The copy has the last-write time of the file itself (File.Copy keeps it), also when path is a symbolic
                // link, whose own time File.GetLastWriteTimeUtc(path) would give.
                var stamp = File.GetLastWriteTimeUtc(temp);
                var attributes = File.GetAttributes(temp);
                bool readOnly = (attributes & FileAttributes.ReadOnly) != 0;
                if (readOnly) File.SetAttributes(temp, attributes & ~FileAttributes.ReadOnly);
                using (var stream = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
                {
                    if (stream.Length != elf.Length)
                        throw new IOException(path + ": the file changed while it was being patched.");
                    stream.Seek(t.FlagsOffset, SeekOrigin.Begin);
                    stream.WriteByte((byte)(flags & 0xff));
                    stream.WriteByte((byte)(flags >> 8));
                }
                if (readOnly) File.SetAttributes(temp, attributes);
                ReplaceWith(temp, full);
                // Now a regular file of its own: setting its time cannot reach a link target.
                File.SetLastWriteTimeUtc(full, stamp);
            }
            finally
            {
                if (File.Exists(temp)) File.Delete(temp);
            }
            return ElfPatchOutcome.Patched;
        }

        /// <summary>Puts <paramref name="source"/> at <paramref name="destination"/> by renaming it, replacing the directory
        /// entry (not writing through a link). netstandard2.0 (what MSBuild compiles inline tasks against) has no
        /// File.Move with overwrite; File.Replace is a rename(2) on unix.</summary>
        private static void ReplaceWith(string source, string destination)
        {
            try
            {
                File.Replace(source, destination, null, ignoreMetadataErrors: true);
            }
            catch (IOException) when (File.Exists(source))
            {
                // Windows' ReplaceFile can refuse some destinations (e.g. symbolic links): remove the entry, then rename.
                File.Delete(destination);
                File.Move(source, destination);
            }
        }

        /// <summary>Whether the shared library at <paramref name="path"/> defines version <paramref name="versionName"/>.</summary>
        public static bool DefinesVersion(string path, string versionName) =>
            ReadVersionDefinitions(File.ReadAllBytes(path), path).Contains(versionName);

        private static List<Section> ReadSections(byte[] elf, string path)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                throw new InvalidDataException(path + ": not an ELF file.");
            if (elf[4] != 2 || elf[5] != 1)
                throw new InvalidDataException(path + ": not a 64-bit little-endian ELF file (class " + elf[4] + ", data " + elf[5] + ").");
            long shoff = (long)U64(elf, 0x28);
            ushort shentsize = U16(elf, 0x3A);
            ushort shnum = U16(elf, 0x3C);
            if (shoff == 0 || shnum == 0) throw new InvalidDataException(path + ": no section headers; not the ELF layout expected.");
            if (shentsize != 64) throw new InvalidDataException(path + ": section header size " + shentsize + ", expected 64.");
            Check(elf, shoff, (long)shnum * 64, path, "section header table");
            var sections = new List<Section>(shnum);
            for (int i = 0; i < shnum; i++)
            {
                long h = shoff + 64L * i;
                var s = new Section
                {
                    Type = U32(elf, h + 4),
                    Offset = (long)U64(elf, h + 24),
                    Size = (long)U64(elf, h + 32),
                    Link = U32(elf, h + 40),
                    Info = U32(elf, h + 44),
                    EntSize = (long)U64(elf, h + 56),
                };
                if (s.Type != 8 /* SHT_NOBITS */ && s.Type != 0) Check(elf, s.Offset, s.Size, path, "section " + i);
                sections.Add(s);
            }
            return sections;
        }

        private static Section Get(List<Section> sections, int index, string path, string what)
        {
            if (index <= 0 || index >= sections.Count) throw new InvalidDataException(path + ": bad section index " + index + " in " + what + ".");
            return sections[index];
        }

        private static void Check(byte[] elf, long offset, long length, string path, string what)
        {
            if (offset < 0 || length < 0 || offset + length > elf.Length)
                throw new InvalidDataException(path + ": " + what + " at offset " + offset + " (+" + length + ") lies outside the file (" + elf.Length + " bytes).");
        }

        private static string CString(byte[] elf, Section strtab, uint offset, string path)
        {
            long start = strtab.Offset + offset;
            Check(elf, start, 1, path, "string");
            long end = start;
            long limit = strtab.Offset + strtab.Size;
            while (end < limit && elf[end] != 0) end++;
            if (end >= limit) throw new InvalidDataException(path + ": unterminated string at offset " + start + ".");
            return Encoding.ASCII.GetString(elf, (int)start, (int)(end - start));
        }

        private static ushort U16(byte[] b, long o) => (ushort)(b[o] | (b[o + 1] << 8));
        private static uint U32(byte[] b, long o) => (uint)(b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24));
        private static ulong U64(byte[] b, long o) => U32(b, o) | ((ulong)U32(b, o + 4) << 32);
    }

    /// <summary>Locates the libstdc++ the dynamic loader will use.</summary>
    public static class HostLibStdCxx
    {
        private static readonly string[] Candidates =
        {
            "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/lib/aarch64-linux-gnu/libstdc++.so.6",
            "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6",
            "/lib64/libstdc++.so.6",
            "/usr/lib/libstdc++.so.6",
        };

        /// <summary>The first existing candidate path, or null.</summary>
        public static string? Find(string? overridePath)
        {
            if (!string.IsNullOrEmpty(overridePath)) return File.Exists(overridePath) ? overridePath : null;
            foreach (var c in Candidates)
                if (File.Exists(c)) return c;
            return null;
        }
    }
}

namespace U2A.Build
{
    /// <summary>Values of the U2APatchLibTorchSharp MSBuild property.</summary>
    public enum PatchMode
    {
        /// <summary><c>auto</c> (default; <c>true</c> is an alias): patch when the build host runs Linux and its libstdc++
        /// lacks the version. Right for applications that run where they are built.</summary>
        Auto,
        /// <summary><c>always</c>: patch every libLibTorchSharp.so in the output, whatever the build OS (for publishing to an
        /// older Linux from a newer host or from Windows). Harmless where the version exists: a weak requirement that is
        /// met is checked like a strong one.</summary>
        Always,
        /// <summary><c>false</c>: never patch.</summary>
        Off,
    }

    /// <summary>What the build step is to do, and what to tell the user.</summary>
    public struct PatchDecision
    {
        /// <summary>Whether to patch the libraries in the output.</summary>
        public bool Patch;
        /// <summary>Why (logged as a low-importance message, or as a warning when <see cref="Warn"/> is set).</summary>
        public string Reason;
        /// <summary>Whether <see cref="Reason"/> deserves a build warning (the host library could not be read).</summary>
        public bool Warn;
    }

    /// <summary>The decision logic of the build step, free of MSBuild and of the file system (testable as a pure function).</summary>
    public static class PatchPolicy
    {
        /// <summary>The version whose requirement is weakened.</summary>
        public const string Version = "GLIBCXX_3.4.32";

        /// <summary>Parses the property value (case-insensitive; empty means auto). False for an unknown value.</summary>
        public static bool TryParseMode(string? value, out PatchMode mode)
        {
            switch ((value ?? "").Trim().ToLowerInvariant())
            {
                case "":
                case "auto":
                case "true":
                    mode = PatchMode.Auto;
                    return true;
                case "always":
                    mode = PatchMode.Always;
                    return true;
                case "false":
                    mode = PatchMode.Off;
                    return true;
                default:
                    mode = PatchMode.Off;
                    return false;
            }
        }

        /// <summary>
        /// Decides whether to patch. <paramref name="hostLibStdCxx"/> is the host library found (null: none);
        /// <paramref name="overridePath"/> the path the user named, if any; <paramref name="definesVersion"/> reads a
        /// library's version definitions and may throw (unreadable or malformed file): that gives a warning and a patch,
        /// since the weak flag is harmless where the version exists.
        /// </summary>
        public static PatchDecision Decide(PatchMode mode, bool buildHostIsLinux, string? hostLibStdCxx, string? overridePath,
            Func<string, string, bool> definesVersion)
        {
            if (mode == PatchMode.Off)
                return new PatchDecision { Patch = false, Reason = "U2APatchLibTorchSharp=false: libLibTorchSharp.so left as is." };
            if (mode == PatchMode.Always)
                return new PatchDecision { Patch = true, Reason = "U2APatchLibTorchSharp=always: patching whatever the host's libstdc++." };
            if (!buildHostIsLinux)
                return new PatchDecision { Patch = false, Reason = "the build host is not Linux; set U2APatchLibTorchSharp=always to patch for a Linux target." };
            if (hostLibStdCxx == null)
            {
                bool named = !string.IsNullOrEmpty(overridePath);
                return new PatchDecision
                {
                    Patch = true,
                    Warn = named,
                    Reason = named
                        ? "U2ALibStdCxxPath names " + overridePath + ", which does not exist; patching libLibTorchSharp.so (harmless where " + Version + " exists)."
                        : "no libstdc++.so.6 found on the host; patching libLibTorchSharp.so.",
                };
            }
            try
            {
                return definesVersion(hostLibStdCxx, Version)
                    ? new PatchDecision { Patch = false, Reason = hostLibStdCxx + " provides " + Version + "; libLibTorchSharp.so left as is." }
                    : new PatchDecision { Patch = true, Reason = hostLibStdCxx + " lacks " + Version + "." };
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is InvalidDataException || e is NotSupportedException)
            {
                return new PatchDecision
                {
                    Patch = true,
                    Warn = true,
                    Reason = "cannot read the host libstdc++ " + hostLibStdCxx + " (" + e.GetType().Name + ": " + e.Message +
                        "); patching libLibTorchSharp.so (harmless where " + Version + " exists). Name the library with U2ALibStdCxxPath, " +
                        "or choose with U2APatchLibTorchSharp=always or false.",
                };
            }
        }
    }
}

#if !U2A_COMPAT_NO_MSBUILD
namespace U2A.Build
{
    /// <summary>MSBuild task: weakens libLibTorchSharp.so's GLIBCXX_3.4.32 requirement in the build output.</summary>
    public sealed class PatchLibTorchSharp : Microsoft.Build.Utilities.Task
    {
        /// <summary>The copies in the output folder (never the NuGet cache).</summary>
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = Array.Empty<Microsoft.Build.Framework.ITaskItem>();

        /// <summary>Optional explicit path to the host libstdc++.so.6.</summary>
        public string? LibStdCxxPath { get; set; }

        /// <summary>The U2APatchLibTorchSharp property: auto (or true, or empty), always, or false.</summary>
        public string? Mode { get; set; }

        /// <inheritdoc />
        public override bool Execute()
        {
            if (!PatchPolicy.TryParseMode(Mode, out var mode))
            {
                Log.LogError("U2A.Core: U2APatchLibTorchSharp='" + Mode + "' is not one of auto (default; true is an alias), always, false.");
                return false;
            }
            bool linux = System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux);
            string? host = mode == PatchMode.Auto && linux ? HostLibStdCxx.Find(LibStdCxxPath) : null;
            var decision = PatchPolicy.Decide(mode, linux, host, LibStdCxxPath, ElfVersionNeedPatcher.DefinesVersion);
            if (decision.Warn) Log.LogWarning("U2A.Core: " + decision.Reason);
            else Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, "U2A.Core: " + decision.Reason);
            if (!decision.Patch) return !Log.HasLoggedErrors;
            foreach (var item in Files)
            {
                string path = item.ItemSpec;
                if (!File.Exists(path)) continue;
                try
                {
                    var outcome = ElfVersionNeedPatcher.Patch(path, "libstdc++.so.6", PatchPolicy.Version);
                    if (outcome == ElfPatchOutcome.Patched)
                        Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High,
                            "U2A.Core: marked " + PatchPolicy.Version + " weak in " + path + (decision.Warn ? "." : " (" + decision.Reason + ")"));
                }
                catch (Exception e) when (e is InvalidDataException || e is IOException || e is UnauthorizedAccessException)
                {
                    Log.LogError("U2A.Core: cannot apply the libstdc++ compatibility step to " + path + ": " + e.Message +
                        " Set U2APatchLibTorchSharp=false to skip it.");
                }
            }
            return !Log.HasLoggedErrors;
        }
    }
}
#endif
