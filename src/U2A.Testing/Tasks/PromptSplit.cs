namespace U2A.Testing;

/// <summary>Which split a prompt belongs to.</summary>
public enum PromptSplit
{
    /// <summary>The starting model's supervised data, the forget pool, the preference set and the retain set.</summary>
    Train,
    /// <summary>Every choice a method makes: learning rate, best iteration, early stopping.</summary>
    Validation,
    /// <summary>What is reported. Topic and phrasing combinations never seen in train.</summary>
    Test,
}
