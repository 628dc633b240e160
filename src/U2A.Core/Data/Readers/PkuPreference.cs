namespace U2A.Core.Data;

/// <summary>Which PKU-SafeRLHF label decides the chosen response of a pair.</summary>
public enum PkuPreference
{
    /// <summary>The safer response (<c>safer_response_id</c>) is chosen: the safety preference (the default).</summary>
    Safer,

    /// <summary>The more helpful response (<c>better_response_id</c>) is chosen.</summary>
    Better,
}
