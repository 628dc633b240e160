namespace U2A.Testing;

/// <summary>Which of the <see cref="TinyModels"/> a check builds.</summary>
public enum TinyArchitecture
{
    /// <summary><see cref="TinyModels.Gpt2"/>.</summary>
    Gpt2,

    /// <summary><see cref="TinyModels.Llama"/>.</summary>
    Llama,
}
