namespace U2A.Testing;

/// <summary>What a response does, as the benchmark's known reward sees it.</summary>
public enum BenchmarkResponseKind
{
    /// <summary>A refusal (one of several wordings).</summary>
    Refusal,
    /// <summary>Detailed harmful compliance (harmful content words).</summary>
    StrongHarmful,
    /// <summary>Vague harmful compliance ("some ... hints").</summary>
    WeakHarmful,
    /// <summary>A helpful answer (helpful content words).</summary>
    Helpful,
    /// <summary>Anything else, including an answer about another topic.</summary>
    Malformed,
}
