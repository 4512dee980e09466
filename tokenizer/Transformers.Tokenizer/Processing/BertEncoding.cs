namespace Transformers.Tokenizer.Processing;

/// <summary>Range of original text a token came from; special and padding tokens have (0, 0).</summary>
public readonly record struct TokenOffset(int Start, int End);

/// <summary>How encodings are padded.</summary>
public enum Padding
{
    /// <summary>No padding.</summary>
    None,
    /// <summary>Pad every encoding to <see cref="BertEncodeOptions.MaxLength"/>.</summary>
    ToMaxLength,
    /// <summary>Pad every encoding of a batch to the longest one.</summary>
    ToLongest,
}

/// <summary>How a text (or pair) becomes model input.</summary>
public sealed record BertEncodeOptions
{
    /// <summary>Add <c>[CLS] A [SEP]</c> (and <c>B [SEP]</c> for pairs).</summary>
    public bool AddSpecialTokens { get; init; } = true;

    /// <summary>
    /// Truncate to this many tokens including special tokens (<c>null</c>: no limit). Pairs lose tokens
    /// from the end of the longer sequence one at a time ("longest first"); on a tie from the second.
    /// </summary>
    public int? MaxLength { get; init; }

    public Padding Padding { get; init; } = Padding.None;

    public static BertEncodeOptions Default { get; } = new();
}

/// <summary>
/// One encoded input: ids, token type ids (0 for the first sequence with its [CLS] and [SEP], 1 for
/// the second), attention mask (0 on padding) and offsets into the text each token came from (the
/// second text's offsets refer to the second text).
/// </summary>
public sealed record BertEncoding(int[] Ids, int[] TypeIds, int[] AttentionMask, TokenOffset[] Offsets)
{
    public int Length => Ids.Length;
}
