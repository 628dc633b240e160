namespace U2A.Core.Tokenization;

/// <summary>
/// The tokenizer contract the data pipeline needs: text to ids and back, and the special ids.
/// <see cref="Encode"/> adds no special tokens; <see cref="PromptResponseEncoder"/> adds BOS/EOS where asked.
/// </summary>
public interface ITextTokenizer
{
    /// <summary>Number of ids the model's embedding must hold (every id is below it).</summary>
    int VocabSize { get; }

    /// <summary>The beginning-of-sequence id, or null when the model uses none (GPT-2).</summary>
    int? BosId { get; }

    /// <summary>The end-of-sequence id.</summary>
    int EosId { get; }

    /// <summary>The id written into padding positions (they are masked out, so any valid id works; often EOS).</summary>
    int PadId { get; }

    /// <summary>The ids of <paramref name="text"/>, without special tokens added.</summary>
    IReadOnlyList<int> Encode(string text);

    /// <summary>
    /// The ids of <paramref name="text"/> as the continuation of earlier text (a response after its prompt): no
    /// word-start marker is added. The same as <see cref="Encode"/> except for SentencePiece models that add a dummy
    /// prefix space to a standalone text.
    /// </summary>
    IReadOnlyList<int> EncodeContinuation(string text) => Encode(text);

    /// <summary>The text of <paramref name="ids"/>.</summary>
    string Decode(IEnumerable<int> ids);
}
