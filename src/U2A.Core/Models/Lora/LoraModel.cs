using TorchSharp.Modules;
using U2A.Core.Models.Generation;
using static TorchSharp.torch;

namespace U2A.Core.Models.Lora;

/// <summary>
/// A causal LM with LoRA adapters on the targeted <c>nn.Linear</c> layers of any TorchSharp model that implements
/// <see cref="ICausalLM"/>. The base weights are frozen (<c>requires_grad</c> false) and
/// <see cref="TrainableParameters"/> holds only the adapters: for each adapted layer in module-path order, A then B.
/// </summary>
/// <remarks>
/// <para>The base model must be on its final device and dtype before it is wrapped. The wrapper does not own the base
/// model: <see cref="Dispose"/> removes the adapters and restores the base model (weights bit for bit, and the
/// <c>requires_grad</c> flags), but does not dispose it.</para>
/// <para>The adapters act only inside the forwards of this object; calling the base model directly gives the
/// base model's outputs (unless the adapters are merged). When the base model is an <see cref="ICachedCausalLM"/>
/// (<see cref="SupportsKvCache"/>), the cached forward works with the adapters engaged, so generation needs no merge.</para>
/// </remarks>
public sealed class LoraModel : ICachedCausalLM, ISelectiveLogitsModel
{
    private readonly ICausalLM _base;
    private readonly nn.Module _module;
    private readonly LoraLinear[] _adapters;
    private readonly Parameter[] _trainable;
    private readonly List<(Parameter Parameter, bool RequiresGrad)> _frozen = new();
    private bool _enabled = true, _disposed;
    private bool _scopeMerged; // merged by a ForwardOnly() scope, which will unmerge

    /// <summary>Injects fresh adapters (A seeded Kaiming-uniform, B zero) into <paramref name="model"/>.</summary>
    /// <exception cref="ArgumentException">The options are invalid (the message names the field), the model is not a
    /// TorchSharp module, or a target name matches no <c>nn.Linear</c>.</exception>
    public LoraModel(ICausalLM model, LoraOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (model is not nn.Module module)
            throw new ArgumentException($"LoRA needs a TorchSharp nn.Module model; {model.GetType().Name} is not one.", nameof(model));
        _base = model;
        _module = module;
        Options = options;

        var targets = new HashSet<string>(options.TargetModules, StringComparer.Ordinal);
        var linears = module.named_modules().Where(m => m.module is Linear).Select(m => (Path: m.name, Layer: (Linear)m.module)).ToList();
        var chosen = linears.Where(l => targets.Contains(LastSegment(l.Path)))
            .OrderBy(l => l.Path, ModulePathComparer.Instance).ToList();
        var unmatched = options.TargetModules.Where(t => !chosen.Any(c => LastSegment(c.Path) == t)).ToList();
        if (unmatched.Count > 0)
        {
            var available = linears.Select(l => LastSegment(l.Path)).Distinct().OrderBy(n => n, StringComparer.Ordinal);
            throw new ArgumentException(
                $"LoraOptions.{nameof(LoraOptions.TargetModules)}: no nn.Linear named [{string.Join(", ", unmatched)}] in {model.GetType().Name}; " +
                $"its nn.Linear names are [{string.Join(", ", available)}].", nameof(options));
        }

        using (no_grad())
        {
            foreach (var p in module.parameters())
            {
                _frozen.Add((p, p.requires_grad));
                p.requires_grad = false;
            }
        }
        var generator = new Generator((ulong)options.Seed);
        var adapters = new List<LoraLinear>();
        try
        {
            foreach (var (path, layer) in chosen) adapters.Add(new LoraLinear(path, layer, options, generator));
        }
        catch
        {
            foreach (var a in adapters) a.Dispose();
            RestoreRequiresGrad();
            throw;
        }
        _adapters = adapters.ToArray();
        _trainable = _adapters.SelectMany(a => new[] { a.A, a.B }).ToArray();
    }

    /// <summary>Wraps <paramref name="model"/> with the adapters stored in <paramref name="adapterPath"/> (options from the file's metadata).</summary>
    /// <exception cref="InvalidDataException">The file is malformed or does not fit <paramref name="model"/> (the message names the file).</exception>
    public static LoraModel FromAdapterFile(ICausalLM model, string adapterPath)
    {
        var options = LoraAdapterFile.ReadOptions(adapterPath);
        LoraModel lora;
        try
        {
            lora = new LoraModel(model, options);
        }
        catch (ArgumentException e) when (e.ParamName == nameof(options)) // target_modules that name no layer of this model
        {
            throw new InvalidDataException($"{adapterPath}: the adapter's metadata does not fit this model: {e.Message}", e);
        }
        try
        {
            lora.LoadAdapters(adapterPath);
            return lora;
        }
        catch
        {
            lora.Dispose();
            throw;
        }
    }

    /// <summary>The settings the adapters were made with.</summary>
    public LoraOptions Options { get; }

    /// <summary>The wrapped model.</summary>
    public ICausalLM BaseModel => _base;

    /// <summary>The adapters, in module-path order (numeric path segments compare as numbers).</summary>
    internal IReadOnlyList<LoraLinear> Adapters => _adapters;

    /// <summary>True unless inside a <see cref="DisableAdapters"/> scope.</summary>
    public bool AdaptersEnabled => _enabled;

    /// <summary>True after <see cref="Merge"/> and before <see cref="Unmerge"/>.</summary>
    public bool IsMerged => _adapters.Length > 0 && _adapters[0].IsMerged;

    /// <inheritdoc />
    public IReadOnlyList<Parameter> TrainableParameters => _trainable;

    /// <inheritdoc />
    public Device Device => _base.Device;

    /// <inheritdoc />
    public ScalarType DType => _base.DType;

    /// <inheritdoc />
    public int VocabularySize => _base.VocabularySize;

    /// <inheritdoc />
    public void SetTraining(bool training) => _base.SetTraining(training);

    /// <summary>
    /// Logits of the adapted model. With the adapters disabled or merged this is the base model's forward (and the
    /// adapters take no part in the graph, so do not differentiate with respect to them then).
    /// </summary>
    /// <exception cref="InvalidOperationException">Dropout is above 0 in training mode and some adapted layer was not
    /// invoked through <c>call()</c>, where dropout cannot be applied.</exception>
    public Tensor Forward(Tensor inputIds, Tensor attentionMask)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_enabled || IsMerged) return _base.Forward(inputIds, attentionMask);
        return Run(() => _base.Forward(inputIds, attentionMask), canRerun: true);
    }

    /// <summary>
    /// Logits of the adapted model at the flat positions <paramref name="positions"/> (see <see cref="ISelectiveLogitsModel"/>):
    /// the base model's <see cref="ISelectiveLogitsModel.ForwardAt"/> with the adapters engaged when the base model has
    /// one, else rows of <see cref="Forward(Tensor, Tensor)"/>.
    /// </summary>
    public Tensor ForwardAt(Tensor inputIds, Tensor attentionMask, Tensor positions)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ModelInputs.CheckPositions(inputIds, positions);
        if (_base is not ISelectiveLogitsModel selective)
        {
            using var scope = NewDisposeScope();
            var logits = Forward(inputIds, attentionMask);
            return logits.reshape(-1, logits.shape[^1]).index_select(0, positions).MoveToOuterDisposeScope();
        }
        if (!_enabled || IsMerged) return selective.ForwardAt(inputIds, attentionMask, positions);
        return Run(() => selective.ForwardAt(inputIds, attentionMask, positions), canRerun: true);
    }

    /// <summary>True when the base model implements <see cref="ICachedCausalLM"/>, so that <see cref="LayerCount"/> and
    /// the cached <see cref="Forward(Tensor, Tensor, KvCache?)"/> work (for example for <see cref="TokenGenerator"/>).</summary>
    public bool SupportsKvCache => _base is ICachedCausalLM;

    /// <summary>The base model's number of attention layers.</summary>
    /// <exception cref="NotSupportedException">The base model is not an <see cref="ICachedCausalLM"/> (see <see cref="SupportsKvCache"/>).</exception>
    public int LayerCount => CachedBase.LayerCount;

    /// <summary>
    /// The adapted model's logits for the new tokens, reusing and extending <paramref name="cache"/> (the base model's
    /// cached forward with the adapters engaged, so cached generation needs no merge). With a null cache this is
    /// <see cref="Forward(Tensor, Tensor)"/>.
    /// </summary>
    /// <exception cref="NotSupportedException">A cache is given but the base model is not an <see cref="ICachedCausalLM"/>.</exception>
    public Tensor Forward(Tensor inputIds, Tensor attentionMask, KvCache? cache)
    {
        if (cache is null) return Forward(inputIds, attentionMask);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var cached = CachedBase;
        if (!_enabled || IsMerged) return cached.Forward(inputIds, attentionMask, cache);
        // The cache is extended by the forward, so a forward that missed an adapter cannot be repeated here.
        return Run(() => cached.Forward(inputIds, attentionMask, cache), canRerun: false);
    }

    private ICachedCausalLM CachedBase => _base as ICachedCausalLM
        ?? throw new NotSupportedException($"{_base.GetType().Name} is not an {nameof(ICachedCausalLM)}: it has no KV-cache forward (generate with GenerationOptions.UseKvCache = false).");

    /// <summary>One forward of the base model with the adapters engaged: hooks on layers the parent invokes through
    /// <c>call()</c>, the effective weight on the others (and on all of them in the first forward, which finds out which
    /// are which). The base weights are restored whatever happens.</summary>
    private Tensor Run(Func<Tensor> baseForward, bool canRerun)
    {
        bool dropout = _module.training && Options.Dropout > 0;
        if (dropout) ThrowIfDirect(_adapters.Where(a => a.UsesCallPath == false));
        Tensor logits;
        try
        {
            foreach (var a in _adapters) a.Engage(dropout);
            logits = baseForward();
        }
        finally
        {
            foreach (var a in _adapters) a.Release();
        }
        var missed = _adapters.Where(a => !a.Observe()).ToList();
        foreach (var a in missed) a.UseEffectiveWeight();
        var direct = _adapters.Where(a => a.UsesCallPath == false);
        if (dropout && direct.Any())
        {
            logits.Dispose();
            ThrowIfDirect(direct);
        }
        if (missed.Count == 0) return logits;
        logits.Dispose();
        if (!canRerun)
            throw new InvalidOperationException(
                $"[{Names(missed)}] ran through call() before but saw no forward hook now (run with forward() directly, or skipped), so the adapters " +
                "may be missing from this output and the KV cache; those layers now use the effective weight: start this generation again.");
        // A layer that ran through call() before was run with forward() (or skipped) this time: repeat with its effective weight.
        return Run(baseForward, canRerun: false);
    }

    private void ThrowIfScopeMerged(string operation)
    {
        if (_scopeMerged)
            throw new InvalidOperationException($"Cannot {operation}() inside a ForwardOnly() scope, which holds merged copies of the adapted weights " +
                "until it is disposed; dispose the scope first.");
    }

    private void ThrowIfDirect(IEnumerable<LoraLinear> direct)
    {
        var list = direct.ToList();
        if (list.Count > 0)
            throw new InvalidOperationException(
                $"LoraOptions.{nameof(LoraOptions.Dropout)} = {Options.Dropout} needs the model to invoke its linear layers through call(), " +
                $"but [{Names(list)}] were run with forward() directly. Use Dropout = 0 or evaluation mode.");
    }

    private static string Names(IReadOnlyList<LoraLinear> adapters) =>
        string.Join(", ", adapters.Take(4).Select(a => a.Path)) + (adapters.Count > 4 ? ", ..." : "");

    /// <summary>Switches the adapters off until the returned scope is disposed (scopes nest).</summary>
    /// <remarks>Inside a <see cref="ForwardOnly"/> scope, which merged the adapters, the base weights are restored
    /// exactly for the disabled scope and merged again after it.</remarks>
    /// <exception cref="InvalidOperationException">The adapters are merged (by <see cref="Merge"/>).</exception>
    public IDisposable DisableAdapters()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (IsMerged && !_scopeMerged) throw new InvalidOperationException("The adapters are merged into the base weights; call Unmerge() before disabling them.");
        bool previous = _enabled;
        if (IsMerged)
        {
            // Merged by a ForwardOnly() scope (a reference pass inside an evaluation, say): the base weights back in the layers
            // while disabled, and the same merged copies (made when the scope began) back in afterwards.
            foreach (var a in _adapters) a.SuspendSlot();
            _enabled = false;
            return new Scope(() =>
            {
                _enabled = previous;
                if (_scopeMerged) foreach (var a in _adapters) a.ResumeSlot();
            });
        }
        _enabled = false;
        return new Scope(() => _enabled = previous);
    }

    /// <summary>Adds <c>scale * B A</c> into each adapted base weight; <see cref="Forward(Tensor, Tensor)"/> then runs the plain base layers.</summary>
    public void Merge()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ThrowIfScopeMerged(nameof(Merge));
        if (!_enabled) throw new InvalidOperationException("Cannot merge inside a DisableAdapters() scope.");
        foreach (var a in _adapters) a.Merge();
    }

    /// <summary>Restores the base weights exactly (from a copy kept by <see cref="Merge"/>, so it is bit for bit the inverse).</summary>
    public void Unmerge()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ThrowIfScopeMerged(nameof(Unmerge));
        foreach (var a in _adapters) a.Unmerge();
    }

    /// <summary>
    /// A scope for forward-only passes (scoring by finite differences, evaluation, generation): gradient recording is off,
    /// and each adapted layer runs on a merged copy <c>W + scale * B A</c> made once when the scope begins, so every forward
    /// inside it runs plain layers instead of the two-branch adapter hooks. The base weights themselves are never written
    /// (the copy stands in the layer's weight slot), so graphs built before the scope can still be differentiated after
    /// it. Disposing the scope puts the base weights back, frees the copies and restores the previous gradient mode.
    /// </summary>
    /// <remarks>
    /// The copies are made from A and B when the scope begins: a change to them inside the scope (a finite-difference
    /// step) takes effect in the next scope, so open one scope per set of parameter values. Nothing inside the scope can
    /// be differentiated with respect to A or B, <see cref="Merge"/> and <see cref="Unmerge"/> throw, and
    /// <see cref="SetTraining"/> does not bring dropout back until the scope ends. Where merging would change the
    /// outputs or is not possible (inside <see cref="DisableAdapters"/>, already merged, or training mode with
    /// <see cref="LoraOptions.Dropout"/> above 0, where the two-branch form applies dropout) the scope only turns gradient
    /// recording off. Nested scopes must be disposed in reverse order, as <c>torch.no_grad()</c> scopes must.
    /// </remarks>
    public IDisposable ForwardOnly()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var noGrad = no_grad();
        if (!_enabled || IsMerged || (_module.training && Options.Dropout > 0)) return noGrad;
        try
        {
            foreach (var a in _adapters) a.MergeIntoSlot();
        }
        catch
        {
            foreach (var a in _adapters) a.UnmergeSlot();
            noGrad.Dispose();
            throw;
        }
        _scopeMerged = true;
        return new Scope(() =>
        {
            _scopeMerged = false;
            try { foreach (var a in _adapters) a.UnmergeSlot(); }
            finally { noGrad.Dispose(); }
        });
    }

    /// <summary>Writes the adapters to a safetensors file (<c>&lt;module path&gt;.lora_A.weight</c> and <c>.lora_B.weight</c>, with r, alpha, dropout and targets as metadata).</summary>
    public void SaveAdapters(string path)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        LoraAdapterFile.Save(path, this);
    }

    /// <summary>Loads adapter values saved by <see cref="SaveAdapters"/>, after checking that names, shapes, rank and alpha match.</summary>
    /// <exception cref="InvalidDataException">The file does not fit these adapters (the message says how).</exception>
    public void LoadAdapters(string path)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        LoraAdapterFile.Load(path, this);
    }

    /// <summary>A reference policy that is this model with the adapters off (no copy of the weights).</summary>
    public LoraReferencePolicy AsReferencePolicy() => new(this);

    /// <summary>Removes the adapters and restores the base model; the base model itself is not disposed.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var a in _adapters) a.Dispose();
        RestoreRequiresGrad();
    }

    private void RestoreRequiresGrad()
    {
        using var noGrad = no_grad();
        foreach (var (p, rg) in _frozen) p.requires_grad = rg;
    }

    internal static string LastSegment(string path) => path[(path.LastIndexOf('.') + 1)..];

    private sealed class Scope(Action onDispose) : IDisposable
    {
        private Action? _onDispose = onDispose;

        public void Dispose()
        {
            _onDispose?.Invoke();
            _onDispose = null;
        }
    }
}
