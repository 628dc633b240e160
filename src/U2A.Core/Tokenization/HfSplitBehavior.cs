namespace U2A.Core.Tokenization;

/// <summary>How a split pattern's matches (the delimiters) are kept, as in Hugging Face's <c>SplitDelimiterBehavior</c>.</summary>
internal enum HfSplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous }
