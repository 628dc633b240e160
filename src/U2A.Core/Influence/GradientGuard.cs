using U2A.Core.Models;
using U2A.Core.Models.Lora;
using static TorchSharp.torch;

namespace U2A.Core.Influence;

/// <summary>
/// The one way into <c>torch.autograd.grad</c> in the library. An error inside <c>autograd.grad</c> is a native abort
/// of the whole process in TorchSharp (exit 134, no .NET exception), so everything it would refuse is checked here
/// first and becomes an <see cref="InvalidOperationException"/> that names the component and the fix: an output that is
/// not a floating-point scalar, that has no autograd graph, that depends on none of the inputs, or an input that is not a
/// tensor requiring gradients. (What cannot be checked beforehand, a graph freed or modified in place by earlier use of a
/// cached tensor, is listed in docs/reliability.md.)
/// </summary>
internal static class GradientGuard
{
    /// <summary>What the influence machinery tells a user whose output has no graph.</summary>
    public const string NoGraphCauses =
        "it is a constant, was detached (.detach(), .item(), rebuilt from host values), was computed under torch.no_grad(), " +
        "or comes from a model whose trainable parameters take no part in the forward (for a LoraModel: adapters switched off " +
        "by DisableAdapters(), or merged by Merge())";

    /// <summary>
    /// <c>d output / d inputs</c> for a scalar <paramref name="output"/>, after the checks above; an input the output does not
    /// use gets zeros. <paramref name="what"/> names the output in messages ("the alignment objective J (...)"), and
    /// <paramref name="fix"/> says what the user should do.
    /// </summary>
    /// <param name="output">The scalar to differentiate.</param>
    /// <param name="inputs">The tensors to differentiate with respect to (leaves or not), in order.</param>
    /// <param name="what">The output's name for messages.</param>
    /// <param name="fix">The fix for messages.</param>
    /// <param name="createGraph">Keep the graph of the result (for double backward); retains the output's graph too.</param>
    /// <param name="unusedIsError">Throw when the output depends on none of the inputs (true for the outputs of user
    /// components; false for inner products of gradients, whose independence just means a zero product).</param>
    public static Tensor[] Grad(Tensor output, IReadOnlyList<Tensor> inputs, string what, string fix, bool createGraph = false, bool unusedIsError = true)
    {
        CheckOutput(output, what, fix);
        CheckInputs(inputs, what);
        var grads = autograd.grad(new[] { output }, inputs.ToArray(), retain_graph: createGraph, create_graph: createGraph, allow_unused: true);
        var result = new Tensor[inputs.Count];
        int used = 0;
        for (int i = 0; i < result.Length; i++)
        {
            if (grads[i] is null || grads[i].IsInvalid) result[i] = zeros_like(inputs[i]);
            else { result[i] = grads[i]; used++; }
        }
        if (used == 0 && unusedIsError)
        {
            foreach (var g in result) g.Dispose();
            throw new InvalidOperationException(
                $"{what} requires grad but depends on none of the {inputs.Count} tensors it is differentiated with respect to: it was computed " +
                $"from other tensors that require grad (another model's weights, a fresh leaf made with requires_grad_()). {fix}");
        }
        return result;
    }

    /// <summary>Throws unless <paramref name="output"/> is a live, floating-point, one-element tensor with an autograd graph.</summary>
    public static void CheckOutput(Tensor? output, string what, string fix)
    {
        if (output is null) throw new InvalidOperationException($"{what} is null. {fix}");
        if (output.IsInvalid) throw new InvalidOperationException($"{what} is a disposed tensor. {fix}");
        if (output.numel() != 1)
            throw new InvalidOperationException($"{what} must be a scalar (one element) to be differentiated, got shape {Shape(output)}. {fix}");
        if (!output.is_floating_point())
            throw new InvalidOperationException($"{what} must be floating point to be differentiated, got {output.dtype}. {fix}");
        if (!output.requires_grad)
            throw new InvalidOperationException(
                $"{what} does not depend on the trainable parameters: it has no autograd graph (requires_grad is false), so it cannot be " +
                $"differentiated. Typical causes: {NoGraphCauses}. {fix}" +
                (is_grad_enabled() ? "" : " Gradients are disabled here: the call runs inside a torch.no_grad() scope; make it outside one."));
    }

    /// <summary>Throws unless there is at least one input and every input is a live floating-point tensor that requires grad.</summary>
    public static void CheckInputs(IReadOnlyList<Tensor> inputs, string what)
    {
        if (inputs.Count == 0) throw new InvalidOperationException($"{what} cannot be differentiated with respect to an empty list of parameters.");
        for (int i = 0; i < inputs.Count; i++)
        {
            var p = inputs[i];
            if (p is null || p.IsInvalid) throw new InvalidOperationException($"parameter {i} (differentiating {what}) is null or disposed.");
            if (!p.requires_grad)
                throw new InvalidOperationException(
                    $"parameter {i} {Shape(p)} does not require grad (it was frozen after the problem was made), so {what} cannot be " +
                    "differentiated with respect to it: set requires_grad = true, or leave it out of the trainable parameters.");
        }
    }

    /// <summary>
    /// For an output the library is about to hand to the influence machinery or to a backward pass: when gradients are enabled
    /// and <paramref name="output"/> has no graph because <paramref name="model"/> is a <see cref="LoraModel"/> whose adapters are
    /// switched off or merged, throws an <see cref="InvalidOperationException"/> that says so, naming
    /// <paramref name="component"/>. Does nothing under <c>torch.no_grad()</c>, for outputs with a graph, and for other models.
    /// </summary>
    public static void ThrowIfAdaptersOff(ICausalLM model, Tensor output, string component)
    {
        if (!is_grad_enabled() || output.requires_grad || model is not LoraModel lora) return;
        if (lora.IsMerged)
            throw new InvalidOperationException(
                $"{component}: the LoraModel's adapters are merged into the base weights (Merge()), so its trainable parameters (the adapters) " +
                "take no part in the forward and nothing can be differentiated with respect to them. Call Unmerge() first, or compute under " +
                "torch.no_grad() when only the value is wanted.");
        if (!lora.AdaptersEnabled)
            throw new InvalidOperationException(
                $"{component}: the LoraModel's adapters are switched off (inside a DisableAdapters() scope), so its trainable parameters (the " +
                "adapters) take no part in the forward and nothing can be differentiated with respect to them. Dispose the DisableAdapters() " +
                "scope first, or compute under torch.no_grad() when only the value is wanted.");
    }

    /// <summary>"[2, 3]".</summary>
    public static string Shape(Tensor t) => $"[{string.Join(", ", t.shape)}]";
}
