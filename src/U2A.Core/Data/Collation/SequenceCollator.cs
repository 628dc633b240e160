using U2A.Core.Tokenization;
using static TorchSharp.torch;

namespace U2A.Core.Data;

/// <summary>
/// Turns records into padded <see cref="TokenBatch"/>es: tokenises each prompt + response with a
/// <see cref="PromptResponseEncoder"/>, applies the truncation policy, pads left or right, and builds the response
/// mask (1 exactly on the response tokens, EOS included when the encoder appends it).
/// </summary>
/// <param name="encoder">The prompt/response encoder.</param>
/// <param name="options">Padding, truncation and device; null for the defaults. Checked here (<see cref="CollateOptions.Validate"/>).</param>
public sealed class SequenceCollator(PromptResponseEncoder encoder, CollateOptions? options = null)
{
    /// <summary>The encoder.</summary>
    public PromptResponseEncoder Encoder { get; } = encoder ?? throw new ArgumentNullException(nameof(encoder));

    /// <summary>The options.</summary>
    public CollateOptions Options { get; } = (options ?? new CollateOptions()).Validate();

    /// <summary>The pad id in use.</summary>
    public int PadId => Options.PadId ?? Encoder.Tokenizer.PadId;

    /// <summary>Tokenises one prompt + response and applies the truncation policy.</summary>
    /// <param name="prompt">The prompt.</param>
    /// <param name="response">The response.</param>
    /// <param name="source">Where the record was read, for errors; null when not known.</param>
    /// <param name="responseField">The record's name for the response (<c>response</c>, <c>chosen</c>, <c>rejected</c>), for errors.</param>
    public EncodedSequence Encode(string prompt, string response, SourceLocation? source = null, string responseField = "response")
    {
        EncodedSequence s;
        try { s = Encoder.Encode(prompt, response); }
        catch (ArgumentException e) when (source is not null)
        {
            throw new CollationException(source, e.ParamName == "prompt" ? "prompt" : responseField, e.Message);
        }
        return Options.MaxLength is int max ? Truncate(s, max, Options.Truncation, source, responseField) : s;
    }

    /// <summary>Tokenised lengths (after truncation), e.g. for <see cref="BatchPlanner.PlanBucketed"/>.</summary>
    public int[] Lengths(IEnumerable<(string Prompt, string Response)> examples) =>
        examples.Select(e => Encode(e.Prompt, e.Response).Length).ToArray();

    /// <summary>A batch of negative examples (prompt + response to unlearn).</summary>
    public TokenBatch Negatives(IReadOnlyList<NegativeExample> examples) =>
        Collate(examples.Select(e => Encode(e.Prompt, e.Response, e.Source, "response")).ToArray());

    /// <summary>A batch of retain examples.</summary>
    public TokenBatch Retain(IReadOnlyList<RetainExample> examples) =>
        Collate(examples.Select(e => Encode(e.Prompt, e.Response, e.Source)).ToArray());

    /// <summary>Preference pairs: chosen and rejected collated separately (each padded to its own length), rows in the order of
    /// <paramref name="pairs"/>. The caller owns both batches (<c>PreferenceBatch.FromPairs</c> wraps them).</summary>
    public (TokenBatch Chosen, TokenBatch Rejected) Preferences(IReadOnlyList<PreferencePair> pairs)
    {
        var chosen = Collate(pairs.Select(p => Encode(p.Prompt, p.Chosen, p.Source, "chosen")).ToArray());
        try
        {
            var rejected = Collate(pairs.Select(p => Encode(p.Prompt, p.Rejected, p.Source, "rejected")).ToArray());
            return (chosen, rejected);
        }
        catch
        {
            chosen.Dispose();
            throw;
        }
    }

    /// <summary>Pads already encoded sequences into a batch (they must fit <see cref="CollateOptions.MaxLength"/>).</summary>
    public TokenBatch Collate(IReadOnlyList<EncodedSequence> sequences)
    {
        if (Options.MaxLength is int max)
            foreach (var s in sequences)
                if (s.Length > max) throw new CollationException(null, $"a sequence of {s.Length} tokens is over MaxLength {max}; encode it through Encode to truncate it.");
        return Pad(sequences, PadId, Options.Padding, Options.Device);
    }

    /// <summary>
    /// Pads <paramref name="sequences"/> to the longest of them: InputIds (pad id at padding), AttentionMask (1 on
    /// tokens) and ResponseMask (1 from each ResponseStart to the sequence end), int64 [B, T] on <paramref name="device"/>.
    /// </summary>
    public static TokenBatch Pad(IReadOnlyList<EncodedSequence> sequences, int padId, PaddingSide side, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        if (sequences.Count == 0) throw new ArgumentException("no sequences to collate.", nameof(sequences));
        int b = sequences.Count;
        int t = 0;
        foreach (var s in sequences) t = Math.Max(t, s.Validate().Length);
        var ids = new long[b * t];
        var att = new long[b * t];
        var resp = new long[b * t];
        Array.Fill(ids, padId);
        for (int i = 0; i < b; i++)
        {
            var s = sequences[i];
            int offset = i * t + (side == PaddingSide.Left ? t - s.Length : 0);
            for (int j = 0; j < s.Length; j++)
            {
                ids[offset + j] = s.Ids[j];
                att[offset + j] = 1;
                resp[offset + j] = j >= s.ResponseStart ? 1 : 0;
            }
        }
        var dev = device ?? CPU;
        var shape = new long[] { b, t };
        var a = tensor(ids, shape, device: dev);
        var m = tensor(att, shape, device: dev);
        var r = tensor(resp, shape, device: dev);
        try { return new TokenBatch(a, m, r); }
        catch { a.Dispose(); m.Dispose(); r.Dispose(); throw; }
    }

    /// <summary>
    /// Fits <paramref name="s"/> into <paramref name="maxLength"/> tokens by <paramref name="policy"/>: prompt tokens
    /// are dropped from the left (after the leading special tokens), the response is kept whole, or under
    /// <see cref="TruncationPolicy.TruncatePromptLeftThenResponseRight"/> cut from the right when it alone does not fit.
    /// A <see cref="CollationException"/> names the field at fault: <c>prompt</c> when the prompt alone fills
    /// <paramref name="maxLength"/>, otherwise <paramref name="responseField"/>.
    /// </summary>
    /// <param name="s">The encoded sequence.</param>
    /// <param name="maxLength">The longest sequence allowed (at least 2).</param>
    /// <param name="policy">What to do with a longer sequence.</param>
    /// <param name="source">Where the record was read, for errors; null when not known.</param>
    /// <param name="responseField">The record's name for the response (<c>response</c>, <c>chosen</c>, <c>rejected</c>), for errors.</param>
    public static EncodedSequence Truncate(EncodedSequence s, int maxLength, TruncationPolicy policy, SourceLocation? source = null, string responseField = "response")
    {
        ArgumentNullException.ThrowIfNull(s);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 2);
        s.Validate();
        if (s.Length <= maxLength) return s;
        string what = $"the sequence has {s.Length} tokens (prompt {s.PromptLength}, response {s.ResponseLength}), over MaxLength {maxLength}";
        if (policy == TruncationPolicy.Fail)
            throw new CollationException(source, s.PromptLength >= maxLength ? "prompt" : responseField, what + " (TruncationPolicy.Fail)");
        int lead = s.LeadingSpecialTokens;
        int minPrompt = Math.Max(1, lead);
        int promptKeep = maxLength - s.ResponseLength;
        int responseKeep = s.ResponseLength;
        if (promptKeep < minPrompt)
        {
            if (policy == TruncationPolicy.TruncatePromptLeft)
                throw new CollationException(source, responseField, what + $"; the response alone needs {s.ResponseLength + minPrompt} tokens with the minimal prompt, so it cannot be kept whole (TruncationPolicy.TruncatePromptLeft)");
            promptKeep = minPrompt;
            responseKeep = maxLength - minPrompt;
        }
        var ids = new int[promptKeep + responseKeep];
        int keepFromPrompt = promptKeep - lead; // prompt tokens after the special prefix, taken from the right end
        Array.Copy(s.Ids, 0, ids, 0, lead);
        Array.Copy(s.Ids, s.ResponseStart - keepFromPrompt, ids, lead, keepFromPrompt);
        Array.Copy(s.Ids, s.ResponseStart, ids, promptKeep, responseKeep);
        return new EncodedSequence(ids, promptKeep, lead).Validate();
    }
}
