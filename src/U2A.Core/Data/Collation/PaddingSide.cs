namespace U2A.Core.Data;

/// <summary>Which side of a row padding goes.</summary>
public enum PaddingSide
{
    /// <summary>Tokens first, padding after (the usual layout for training).</summary>
    Right,

    /// <summary>Padding first, tokens after (the usual layout for generation).</summary>
    Left,
}
