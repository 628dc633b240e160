namespace U2A.Core.Alignment;

/// <summary>The reward of <paramref name="response"/> to <paramref name="prompt"/>.</summary>
public delegate double TextReward(string prompt, string response);
