using Transformers.Tokenizer.Normalization;

namespace Transformers.Tokenizer;

/// <summary>Everything that defines a BERT-style WordPiece tokenizer besides its vocabulary.</summary>
public sealed record WordPieceOptions
{
    public BertNormalizerOptions Normalizer { get; init; } = BertNormalizerOptions.Uncased;

    public string UnknownToken { get; init; } = "[UNK]";
    public string ClassificationToken { get; init; } = "[CLS]";
    public string SeparatorToken { get; init; } = "[SEP]";
    public string PaddingToken { get; init; } = "[PAD]";
    public string MaskToken { get; init; } = "[MASK]";

    /// <summary>Marks a piece that continues a word.</summary>
    public string ContinuingSubwordPrefix { get; init; } = "##";

    /// <summary>A longer word (in code points, after normalization) becomes <see cref="UnknownToken"/>.</summary>
    public int MaxInputCharsPerWord { get; init; } = 100;

    /// <summary>Special tokens written in the text (exact, case-sensitive, e.g. "[MASK]") are matched before normalization, as HF's added tokens are.</summary>
    public bool SplitOnSpecialTokens { get; init; } = true;

    /// <summary>The special tokens, in the order <c>vocab.txt</c> training writes them.</summary>
    public IReadOnlyList<string> SpecialTokens => [PaddingToken, UnknownToken, ClassificationToken, SeparatorToken, MaskToken];

    /// <summary>bert-base-uncased (all-MiniLM-L6-v2): lowercase, strip accents.</summary>
    public static WordPieceOptions Uncased { get; } = new();

    /// <summary>Cased, accents kept (the translator's French/English vocabulary).</summary>
    public static WordPieceOptions Cased { get; } = new() { Normalizer = BertNormalizerOptions.Cased };

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxInputCharsPerWord, 1, nameof(MaxInputCharsPerWord));
        ArgumentException.ThrowIfNullOrEmpty(ContinuingSubwordPrefix, nameof(ContinuingSubwordPrefix));
        foreach (string token in SpecialTokens) ArgumentException.ThrowIfNullOrEmpty(token, "special token");
    }
}
