using TorchSharp;
using U2A.Core.Data;
using U2A.Core.Influence;
using U2A.Core.Models;
using U2A.Core.Unlearning;
using static TorchSharp.torch;

namespace U2A.Core.Alignment;

/// <summary>The reward of <paramref name="response"/> to <paramref name="prompt"/>.</summary>
public delegate double TextReward(string prompt, string response);
