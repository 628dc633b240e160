using U2A.Core.Models.Gpt2;
using U2A.Core.Models.Llama;
using static TorchSharp.torch;

namespace U2A.Testing;

/// <summary>
/// Seeded tiny models of the real architectures (<see cref="Gpt2LM"/> and <see cref="LlamaLM"/> with small configurations),
/// for unit tests that should exercise the library's own model code rather than a stand-in. The same seed gives the same
/// weights on every call and every device: the weights come from a generator of their own, never from the global RNG.
/// </summary>
/// <remarks>
/// Sizes: GPT-2 with width 16, 2 blocks, 2 heads, 32 positions; Llama with width 16, MLP width 32, 2 layers, 4 query heads
/// sharing 2 key/value heads (grouped-query attention), rotary positions. Both initialise with standard deviation 0.2 so that
/// the logits are far from uniform. Use <see cref="ScalarType.Float64"/> for gradient and hypergradient checks.
/// </remarks>
public static class TinyModels
{
    /// <summary>The default vocabulary size of the tiny models.</summary>
    public const int DefaultVocabularySize = 32;

    /// <summary>The tiny GPT-2 configuration for a vocabulary of <paramref name="vocabularySize"/> ids.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="vocabularySize"/> is below 2.</exception>
    public static Gpt2Config Gpt2Configuration(int vocabularySize = DefaultVocabularySize)
    {
        CheckVocabulary(vocabularySize);
        return new Gpt2Config(VocabSize: vocabularySize, NEmbd: 16, NLayer: 2, NHead: 2, NPositions: 32, InitializerRange: 0.2);
    }

    /// <summary>The tiny Llama configuration (grouped-query attention) for a vocabulary of <paramref name="vocabularySize"/> ids.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="vocabularySize"/> is below 2.</exception>
    public static LlamaConfig LlamaConfiguration(int vocabularySize = DefaultVocabularySize)
    {
        CheckVocabulary(vocabularySize);
        return new LlamaConfig(VocabSize: vocabularySize, HiddenSize: 16, IntermediateSize: 32, NumHiddenLayers: 2, NumAttentionHeads: 4,
            NumKeyValueHeads: 2, MaxPositionEmbeddings: 64, RmsNormEps: 1e-5, InitializerRange: 0.2);
    }

    /// <summary>A seeded tiny GPT-2 (<see cref="Gpt2LM"/>, <see cref="Gpt2Configuration"/>); sequences up to 32 tokens.</summary>
    /// <param name="seed">The seed of the weights; non-negative. The same seed gives the same model.</param>
    /// <param name="vocabularySize">Vocabulary size; at least 2.</param>
    /// <param name="dtype"><see cref="ScalarType.Float32"/> or <see cref="ScalarType.Float64"/> (for gradient checks).</param>
    /// <param name="device">The device; CPU when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range; the message names it.</exception>
    public static Gpt2LM Gpt2(long seed, int vocabularySize = DefaultVocabularySize, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        Check(seed, dtype);
        return new Gpt2LM(Gpt2Configuration(vocabularySize), device, dtype, seed);
    }

    /// <summary>A seeded tiny Llama (<see cref="LlamaLM"/>, <see cref="LlamaConfiguration"/>).</summary>
    /// <param name="seed">The seed of the weights; non-negative. The same seed gives the same model.</param>
    /// <param name="vocabularySize">Vocabulary size; at least 2.</param>
    /// <param name="dtype"><see cref="ScalarType.Float32"/> or <see cref="ScalarType.Float64"/> (for gradient checks).</param>
    /// <param name="device">The device; CPU when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range; the message names it.</exception>
    public static LlamaLM Llama(long seed, int vocabularySize = DefaultVocabularySize, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        Check(seed, dtype);
        return new LlamaLM(LlamaConfiguration(vocabularySize), device, dtype, seed);
    }

    private static void Check(long seed, ScalarType dtype)
    {
        if (seed < 0) throw new ArgumentOutOfRangeException(nameof(seed), seed, $"seed must be non-negative, got {seed}.");
        if (dtype != ScalarType.Float32 && dtype != ScalarType.Float64)
            throw new ArgumentOutOfRangeException(nameof(dtype), dtype, $"dtype must be Float32 or Float64, got {dtype}.");
    }

    private static void CheckVocabulary(int vocabularySize)
    {
        if (vocabularySize < 2)
            throw new ArgumentOutOfRangeException(nameof(vocabularySize), vocabularySize, $"vocabularySize must be at least 2 (id 0 is padding), got {vocabularySize}.");
    }
}
