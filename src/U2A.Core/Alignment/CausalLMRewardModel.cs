using U2A.Core.Data;
using U2A.Core.Models;
using U2A.Core.Models.Checkpoints;
using static TorchSharp.torch;

namespace U2A.Core.Alignment;

/// <summary>
/// A reward model: a causal-LM backbone with a scalar head on the hidden state of each sequence's last real token,
/// <c>r = score . h_last</c> (the layout of Hugging Face's sequence-classification models, head <c>score.weight</c> [1, H]).
/// </summary>
/// <remarks>
/// On disk it is a model folder like any other (<c>config.json</c> + <c>model.safetensors</c>, loaded by
/// <see cref="CausalLMLoader"/>) plus <c>reward_head.safetensors</c> holding <c>score.weight</c>. A Hugging Face
/// sequence-classification checkpoint keeps <c>score.weight</c> inside <c>model.safetensors</c> and has no LM head; move the
/// head into <c>reward_head.safetensors</c> (and keep or tie the LM head) to load it here.
/// </remarks>
public sealed class CausalLMRewardModel : IRewardModel, IDisposable
{
    /// <summary>The file holding the head.</summary>
    public const string HeadFile = "reward_head.safetensors";

    /// <summary>The head's tensor name.</summary>
    public const string HeadName = "score.weight";

    private readonly Tensor _score;

    /// <summary>Puts a head <paramref name="score"/> ([1, H] or [H]) on a backbone; the head is copied to the backbone's device and dtype.</summary>
    public CausalLMRewardModel(IHiddenStateModel backbone, Tensor score)
    {
        Backbone = backbone ?? throw new ArgumentNullException(nameof(backbone));
        ArgumentNullException.ThrowIfNull(score);
        if (score.numel() != backbone.HiddenSize || (score.dim() == 2 && score.shape[0] != 1) || score.dim() > 2)
            throw new ArgumentException($"the reward head must have shape [1, {backbone.HiddenSize}] or [{backbone.HiddenSize}], got [{string.Join(", ", score.shape)}].", nameof(score));
        using (no_grad())
            _score = score.reshape(backbone.HiddenSize).to(backbone.DType).to(backbone.Device).clone().DetachFromDisposeScope();
    }

    /// <summary>The backbone.</summary>
    public IHiddenStateModel Backbone { get; }

    /// <summary>The head vector [H].</summary>
    public Tensor Score => _score;

    /// <summary>Loads a reward model folder (see the remarks) onto <paramref name="device"/>.</summary>
    /// <exception cref="InvalidDataException">The backbone has no hidden-state output, or the head is missing or mis-shaped.</exception>
    public static CausalLMRewardModel FromPretrained(string directory, Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        string headPath = Path.Combine(directory, HeadFile);
        if (!File.Exists(headPath)) throw new InvalidDataException($"{headPath}: no reward head file (expected tensor '{HeadName}').");
        var backbone = CausalLMLoader.FromPretrained(directory, device, dtype);
        if (backbone is not IHiddenStateModel hidden)
        {
            backbone.Dispose();
            throw new InvalidDataException($"{directory}: the model does not expose hidden states, so it cannot carry a reward head.");
        }
        Dictionary<string, Tensor>? tensors = null;
        try
        {
            tensors = SafetensorsFile.Load(headPath, device, dtype);
            if (!tensors.TryGetValue(HeadName, out var score))
                throw new InvalidDataException($"{headPath}: tensor '{HeadName}' is missing (found: {string.Join(", ", tensors.Keys)}).");
            if (score.numel() != hidden.HiddenSize || score.dim() > 2 || (score.dim() == 2 && score.shape[0] != 1))
                throw new InvalidDataException($"{headPath}: '{HeadName}' has shape [{string.Join(", ", score.shape)}]; expected [1, {hidden.HiddenSize}] for the backbone's hidden size.");
            return new CausalLMRewardModel(hidden, score);
        }
        catch
        {
            backbone.Dispose();
            throw;
        }
        finally
        {
            if (tensors is not null) foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>Writes the backbone (Hugging Face layout) and the head to <paramref name="directory"/>.</summary>
    public void SavePretrained(string directory)
    {
        if (Backbone is not IHfCheckpointModel hf) throw new InvalidOperationException("the backbone is not a Hugging Face checkpoint model and cannot be saved.");
        Directory.CreateDirectory(directory);
        CausalLMLoader.SavePretrained(hf, directory);
        using var head = _score.reshape(1, Backbone.HiddenSize);
        SafetensorsFile.Save(Path.Combine(directory, HeadFile), new Dictionary<string, Tensor> { [HeadName] = head });
    }

    /// <summary>Rewards [B] of a batch: the head applied to the hidden state of each row's last real token (left or right padding).</summary>
    public Tensor Rewards(TokenBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        using var scope = NewDisposeScope();
        ModelInputs.CheckVocabulary(batch, Backbone.VocabularySize, Backbone);
        var hidden = Backbone.HiddenStates(batch.InputIds, batch.AttentionMask);
        // Index of each row's last real token: the largest position whose mask is 1 (no host sync).
        var positions = arange(batch.Length, dtype: ScalarType.Int64, device: batch.Device).unsqueeze(0);
        var last = (positions * batch.AttentionMask).argmax(1);
        var h = hidden.gather(1, last.view(-1, 1, 1).expand(-1, 1, hidden.shape[2])).squeeze(1);
        return h.matmul(_score).MoveToOuterDisposeScope();
    }

    /// <summary>Disposes the head and the backbone.</summary>
    public void Dispose()
    {
        _score.Dispose();
        Backbone.Dispose();
    }
}
