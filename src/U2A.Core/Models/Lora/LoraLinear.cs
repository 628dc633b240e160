using System.Reflection;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace U2A.Core.Models.Lora;

/// <summary>
/// The adapter of one frozen <c>nn.Linear</c>: <c>y = base(x) + (alpha / r) * dropout(x) A^T B^T</c> with A [r, in]
/// and B [out, r]. The base layer stays in its parent; <see cref="LoraModel"/> makes the parent see the adapted layer.
/// </summary>
/// <remarks>
/// TorchSharp's <c>Linear</c> is sealed, so the adapter reaches the parent's forward through forward hooks, which run
/// when the parent invokes the layer through <c>call()</c> (as the library's models do): the post hook adds the exact
/// two-branch term <c>scale * dropout(x) A^T B^T</c> to the frozen layer's output. A parent that calls <c>forward()</c>
/// directly bypasses hooks; for such layers (found in the first adapted forward, see <see cref="UsesCallPath"/>) the
/// layer's weight slot holds the effective weight <c>W + scale * B A</c> during <see cref="LoraModel.Forward(Tensor, Tensor)"/> instead
/// (a tensor in the autograd graph of A and B; the base weight is untouched), which cannot apply dropout.
/// </remarks>
internal sealed class LoraLinear : IDisposable
{
    private static readonly FieldInfo WeightSlot = typeof(Linear).GetField("_weight", BindingFlags.NonPublic | BindingFlags.Instance)
        ?? throw new NotSupportedException("This TorchSharp version's Linear has no '_weight' field; LoRA injection needs it (written against TorchSharp 0.107).");

    private readonly Parameter _baseWeight;
    private readonly Action _removeHooks;
    private Parameter? _effective;
    private Tensor? _mergeBackup;
    private Parameter? _slotMerged; // W + scale * B A in the weight slot during a forward-only scope; W itself untouched
    private bool _slotSuspended; // the base weight is back in the slot for a while (DisableAdapters inside the scope)
    private bool _active, _dropoutActive, _disposed;
    private readonly ulong _dropoutSeed;
    private Generator? _dropoutGenerator;
    private bool? _callPath; // null until the first adapted forward shows how the parent invokes the layer

    internal LoraLinear(string path, Linear layer, LoraOptions options, Generator generator)
    {
        Path = path;
        Base = layer;
        _baseWeight = (Parameter)(WeightSlot.GetValue(layer) ?? throw new ArgumentException($"module '{path}' has no weight.", nameof(layer)));
        if (_baseWeight.dim() != 2) throw new ArgumentException($"module '{path}': weight must be 2-D, got [{string.Join(", ", _baseWeight.shape)}].", nameof(layer));
        OutFeatures = _baseWeight.shape[0];
        InFeatures = _baseWeight.shape[1];
        Rank = options.Rank;
        Scale = options.Scale;
        DropoutProbability = options.Dropout;
        _dropoutSeed = unchecked((ulong)(options.Seed * 1_000_003 + StableHash(path)));
        using (no_grad())
        {
            // Kaiming-uniform with a = sqrt(5), as nn.Linear and PEFT initialise A: bound = 1 / sqrt(in).
            double bound = 1.0 / Math.Sqrt(InFeatures);
            using var u = rand(new[] { (long)Rank, InFeatures }, dtype: ScalarType.Float64, generator: generator);
            using var a = u.mul(2 * bound).sub_(bound);
            A = new Parameter(a.to(_baseWeight.dtype, _baseWeight.device), requires_grad: true);
            A.DetachFromDisposeScope();
            B = new Parameter(zeros(new[] { OutFeatures, Rank }, dtype: _baseWeight.dtype, device: _baseWeight.device), requires_grad: true);
            B.DetachFromDisposeScope();
        }
        var pre = layer.register_forward_pre_hook(PreHook);
        var post = layer.register_forward_hook(PostHook);
        _removeHooks = () => { pre.remove(); post.remove(); };
    }

    /// <summary>Module path of the adapted layer in the base model, for example <c>blocks.0.c_attn</c>.</summary>
    public string Path { get; }

    /// <summary>The frozen base layer (still owned by the base model).</summary>
    public Linear Base { get; }

    /// <summary>Down-projection A, [r, in]; trainable.</summary>
    public Parameter A { get; }

    /// <summary>Up-projection B, [out, r]; trainable; zero at initialisation.</summary>
    public Parameter B { get; }

    /// <summary>Input features of the base layer.</summary>
    public long InFeatures { get; }

    /// <summary>Output features of the base layer.</summary>
    public long OutFeatures { get; }

    /// <summary>Rank r.</summary>
    public int Rank { get; }

    /// <summary>Scale <c>alpha / r</c>.</summary>
    public double Scale { get; }

    /// <summary>Dropout probability on the adapter branch's input (training mode, <c>call()</c> path only).</summary>
    public double DropoutProbability { get; }

    /// <summary>True while <c>scale * B A</c> is added into the base weight (<see cref="Merge"/>) or a merged copy stands in
    /// the layer's weight slot (<see cref="MergeIntoSlot"/>).</summary>
    public bool IsMerged => _mergeBackup is not null || (_slotMerged is not null && !_slotSuspended);

    /// <summary>True while a merged copy stands in the layer's weight slot (a forward-only scope).</summary>
    internal bool IsSlotMerged => _slotMerged is not null;

    /// <summary>How many times the <c>call()</c> hooks applied the adapter since the last <see cref="LoraModel.Forward(Tensor, Tensor)"/> began.</summary>
    internal int HookApplications { get; private set; }

    /// <summary>
    /// True when the parent invokes this layer through <c>call()</c>, so the adapter acts through the hooks alone (no
    /// effective weight is built); false when it calls <c>forward()</c> directly, so the layer's weight slot holds
    /// <c>W + scale * B A</c> during each forward; null before the first adapted forward, which builds the effective
    /// weight and also arms the hooks, so it is right either way, and records which one the layer used.
    /// </summary>
    public bool? UsesCallPath => _callPath;

    private static long StableHash(string text)
    {
        ulong h = 14695981039346656037; // FNV-1a, the same in every process (string.GetHashCode is not)
        foreach (char c in text) h = (h ^ c) * 1099511628211;
        return unchecked((long)h);
    }

    /// <summary>Inverted dropout from the adapter's own seeded generator (on x's device), never torch's global one.</summary>
    private Tensor Dropout(Tensor x)
    {
        if (_dropoutGenerator is null || _dropoutGenerator.device.type != x.device_type || _dropoutGenerator.device.index != x.device_index)
        {
            _dropoutGenerator?.Dispose();
            _dropoutGenerator = new Generator(_dropoutSeed, x.device);
        }
        var keep = rand(x.shape, dtype: x.dtype, device: x.device, generator: _dropoutGenerator).ge(DropoutProbability);
        return x.mul(keep).div(1 - DropoutProbability);
    }

    /// <summary>The update <c>scale * B A</c>, [out, in] (in the autograd graph of A and B).</summary>
    public Tensor DeltaWeight() => B.matmul(A).mul(Scale);

    /// <summary>The adapter branch <c>scale * dropout(x) A^T B^T</c> for input x [..., in].</summary>
    public Tensor Delta(Tensor x, bool training = false)
    {
        using var scope = NewDisposeScope();
        var input = training && DropoutProbability > 0 ? Dropout(x) : x;
        return nn.functional.linear(nn.functional.linear(input, A), B).mul(Scale).MoveToOuterDisposeScope();
    }

    /// <summary>The adapted layer in two-branch form, <c>x W^T + b + Delta(x)</c>, with the frozen base weight W
    /// (outside of <see cref="LoraModel.Forward(Tensor, Tensor)"/>; for checks and for callers composing layers themselves).</summary>
    public Tensor Forward(Tensor x, bool training = false)
    {
        using var scope = NewDisposeScope();
        return nn.functional.linear(x, _baseWeight, Base.bias).add(Delta(x, training)).MoveToOuterDisposeScope();
    }

    /// <summary>Arms the adapter for one model forward: hooks only for a <c>call()</c> layer; for a layer not yet seen,
    /// or one run with <c>forward()</c> directly, also the effective weight in the layer's weight slot.</summary>
    internal void Engage(bool dropoutActive)
    {
        HookApplications = 0;
        _dropoutActive = dropoutActive;
        _active = true;
        if (_callPath == true) return;
        using (var scope = NewDisposeScope())
        {
            var w = _baseWeight.add(DeltaWeight());
            _effective = new Parameter(w, requires_grad: w.requires_grad);
            _effective.DetachFromDisposeScope();
        }
        WeightSlot.SetValue(Base, _effective);
    }

    /// <summary>After a forward that completed: records how the layer was invoked the first time, and says whether the
    /// adapter was applied (false when a layer known to use <c>call()</c> saw no hook application this time, because the
    /// parent skipped it or ran it with <c>forward()</c>; the latter would have missed the adapter).</summary>
    internal bool Observe()
    {
        if (_callPath is null)
        {
            _callPath = HookApplications > 0;
            return true;
        }
        return _callPath == false || HookApplications > 0;
    }

    /// <summary>From now on builds the effective weight for this layer on every forward (it was run with <c>forward()</c>).</summary>
    internal void UseEffectiveWeight() => _callPath = false;

    /// <summary>Restores the frozen base weight into the layer. The autograd graph keeps what it needs of the effective weight.</summary>
    internal void Release()
    {
        _active = false;
        WeightSlot.SetValue(Base, _baseWeight);
        _effective?.Dispose();
        _effective = null;
    }

    private Tensor PreHook(nn.Module<Tensor, Tensor> module, Tensor input)
    {
        if (_active && _effective is not null) WeightSlot.SetValue(Base, _baseWeight); // the post hook adds the adapter branch exactly
        return input;
    }

    private Tensor PostHook(nn.Module<Tensor, Tensor> module, Tensor input, Tensor output)
    {
        if (!_active) return output;
        HookApplications++;
        if (_effective is not null) WeightSlot.SetValue(Base, _effective); // a later direct forward() of this layer still sees the adapted weight
        return output.add(Delta(input, _dropoutActive));
    }

    /// <summary>Adds <c>scale * B A</c> into the base weight, keeping an exact copy of the original to restore.</summary>
    internal void Merge()
    {
        if (IsMerged) return;
        using var noGrad = no_grad();
        _mergeBackup = _baseWeight.clone().DetachFromDisposeScope();
        using var delta = DeltaWeight();
        _baseWeight.add_(delta);
    }

    /// <summary>
    /// Puts a new tensor <c>W + scale * B A</c> (no graph) into the layer's weight slot, leaving the base weight W itself
    /// untouched: no in-place write, so the version counter autograd checks for W in graphs built earlier stays as it was.
    /// </summary>
    internal void MergeIntoSlot()
    {
        if (_slotMerged is not null || _mergeBackup is not null) return;
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var merged = _baseWeight.add(DeltaWeight());
        _slotMerged = new Parameter(merged, requires_grad: false);
        _slotMerged.DetachFromDisposeScope();
        WeightSlot.SetValue(Base, _slotMerged);
    }

    /// <summary>Puts the base weight back into the slot while keeping the merged copy (a <c>DisableAdapters</c> inside a
    /// forward-only scope); <see cref="ResumeSlot"/> puts the same copy back.</summary>
    internal void SuspendSlot()
    {
        if (_slotMerged is null) return;
        WeightSlot.SetValue(Base, _baseWeight);
        _slotSuspended = true;
    }

    /// <summary>Puts the merged copy made by <see cref="MergeIntoSlot"/> back into the slot.</summary>
    internal void ResumeSlot()
    {
        if (_slotMerged is null || _disposed) return;
        WeightSlot.SetValue(Base, _slotMerged);
        _slotSuspended = false;
    }

    /// <summary>Puts the base weight back into the slot and frees the merged copy.</summary>
    internal void UnmergeSlot()
    {
        if (_slotMerged is null) return;
        WeightSlot.SetValue(Base, _baseWeight);
        _slotMerged.Dispose();
        _slotMerged = null;
        _slotSuspended = false;
    }

    /// <summary>Restores the base weight bit for bit as it was before <see cref="Merge"/>.</summary>
    internal void Unmerge()
    {
        if (_mergeBackup is null) return;
        using var noGrad = no_grad();
        _baseWeight.copy_(_mergeBackup);
        _mergeBackup.Dispose();
        _mergeBackup = null;
    }

    /// <summary>Unmerges, removes the hooks and frees A and B; the base layer is left as it was before injection.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _dropoutGenerator?.Dispose();
        if (_active) Release();
        UnmergeSlot();
        Unmerge();
        _removeHooks();
        A.Dispose();
        B.Dispose();
    }
}
