using Transformers.Tokenizer.Models;

namespace Transformers.Tokenizer.Processing;

/// <summary>
/// BERT's post-processing (HF <c>BertProcessing</c>): <c>[CLS] A [SEP]</c> or <c>[CLS] A [SEP] B [SEP]</c>
/// with type ids 0 then 1, after truncation, then padding with <c>[PAD]</c> (type 0, mask 0, offset (0, 0)).
/// </summary>
public static class BertPostProcessor
{
    internal static BertEncoding Build(WordPieceTokenizer tokenizer, TokenBuffer first, TokenBuffer? second,
                                       BertEncodeOptions options, int? padTo)
    {
        int specials = options.AddSpecialTokens ? (second is null ? 2 : 3) : 0;
        int a = first.Count, b = second?.Count ?? 0;
        if (options.MaxLength is { } max)
        {
            if (max < specials) throw new ArgumentException($"MaxLength {max} leaves no room for the {specials} special tokens", nameof(options));
            // Longest first: drop one token at a time from the longer sequence (from the second on a tie).
            int budget = max - specials;
            if (second is null) a = Math.Min(a, budget);
            else
                while (a + b > budget)
                {
                    if (a > b) a--;
                    else b--;
                }
        }

        int length = a + b + specials;
        var ids = new int[length];
        var types = new int[length];
        var mask = new int[length];
        var offsets = new TokenOffset[length];
        int at = 0;
        if (options.AddSpecialTokens) ids[at++] = tokenizer.ClassificationId;
        Copy(first, a);
        if (options.AddSpecialTokens) ids[at++] = tokenizer.SeparatorId;
        if (second is not null)
        {
            int from = at;
            Copy(second, b);
            if (options.AddSpecialTokens) ids[at++] = tokenizer.SeparatorId;
            types.AsSpan(from, at - from).Fill(1);
        }
        mask.AsSpan().Fill(1);
        var encoding = new BertEncoding(ids, types, mask, offsets);
        return padTo is { } target ? Pad(encoding, target, tokenizer.PaddingId) : encoding;

        void Copy(TokenBuffer source, int count)
        {
            for (int i = 0; i < count; i++, at++)
            {
                ids[at] = source.Ids[i];
                offsets[at] = new TokenOffset(source.Starts[i], source.Ends[i]);
            }
        }
    }

    /// <summary>Pads on the right to <paramref name="length"/> (an encoding already that long or longer is returned as is).</summary>
    public static BertEncoding Pad(BertEncoding encoding, int length, int paddingId)
    {
        int n = encoding.Length;
        if (n >= length) return encoding;
        var ids = new int[length];
        encoding.Ids.CopyTo(ids, 0);
        ids.AsSpan(n).Fill(paddingId);
        var types = new int[length];
        encoding.TypeIds.CopyTo(types, 0);
        var mask = new int[length];
        encoding.AttentionMask.CopyTo(mask, 0);
        var offsets = new TokenOffset[length];
        encoding.Offsets.CopyTo(offsets, 0);
        return new BertEncoding(ids, types, mask, offsets);
    }
}
