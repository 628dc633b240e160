namespace U2A.Testing;

/// <summary>One call of a <see cref="ScriptedUnlearner"/>.</summary>
/// <param name="BatchSize">Examples in the call's log-probs.</param>
/// <param name="HadReference">Whether reference log-probs were passed.</param>
/// <param name="GradientsEnabled">Whether gradients were enabled (false under <c>torch.no_grad()</c>, as in scoring by finite differences or evaluation).</param>
public sealed record ScriptedUnlearnerCall(int BatchSize, bool HadReference, bool GradientsEnabled);
