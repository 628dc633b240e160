using U2A.Core.Models;

namespace U2A.Core.Alignment;

/// <summary>Generates one response per prompt with <paramref name="model"/> (greedy, say), in prompt order.</summary>
public delegate IReadOnlyList<string> ResponseGenerator(ICausalLM model, IReadOnlyList<string> prompts, CancellationToken cancellationToken);
