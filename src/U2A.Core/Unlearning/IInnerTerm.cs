using U2A.Core.Models;
using static TorchSharp.torch;

namespace U2A.Core.Unlearning;

/// <summary>
/// A scalar term of the inner (unlearning) objective other than the weighted forget losses:
/// a retain term, a parameter regulariser, or a user's own.
/// </summary>
public interface IInnerTerm
{
    /// <summary>Short name for logs.</summary>
    string Name { get; }

    /// <summary>The term's value (a scalar with autograd graph) at the model's current parameters.</summary>
    Tensor Value(ICausalLM model);
}
