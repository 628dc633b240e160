namespace U2A.Core.Tokenization;

/// <summary>The roles a <see cref="ChatMessage"/> may have.</summary>
public static class ChatRole
{
    /// <summary>The system prompt.</summary>
    public const string System = "system";

    /// <summary>The user's turn.</summary>
    public const string User = "user";

    /// <summary>The model's turn.</summary>
    public const string Assistant = "assistant";

    /// <summary>Whether <paramref name="role"/> is one of the three roles.</summary>
    public static bool IsKnown(string? role) => role is System or User or Assistant;
}
