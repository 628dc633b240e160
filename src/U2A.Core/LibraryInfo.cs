using System.Reflection;

namespace U2A.Core;

/// <summary>Facts about this build of U2A.Core.</summary>
public static class LibraryInfo
{
    /// <summary>The informational version of the U2A.Core assembly (for example "0.1.0").</summary>
    public static string Version { get; } =
        typeof(LibraryInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(LibraryInfo).Assembly.GetName().Version?.ToString() ?? "unknown";
}
