namespace U2A.Core.Models.Llama;

/// <summary>Rotary-embedding frequency scaling (Hugging Face <c>rope_scaling</c>).</summary>
/// <param name="RopeType"><c>linear</c> (all frequencies divided by the factor) or <c>llama3</c> (Llama 3.1's band-wise scaling).</param>
/// <param name="Factor">Scaling factor.</param>
/// <param name="LowFreqFactor">llama3: <c>low_freq_factor</c>.</param>
/// <param name="HighFreqFactor">llama3: <c>high_freq_factor</c>.</param>
/// <param name="OriginalMaxPositionEmbeddings">llama3: <c>original_max_position_embeddings</c>.</param>
public sealed record RopeScaling(string RopeType, double Factor, double LowFreqFactor = 1, double HighFreqFactor = 4, int OriginalMaxPositionEmbeddings = 8192);
