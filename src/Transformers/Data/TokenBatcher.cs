namespace Transformers.Data;

/// <summary>A pair as token ids (no BOS/EOS added here: the model's data collation decides those).</summary>
public sealed record TokenizedPair(int[] Source, int[] Target)
{
    /// <summary>Tokenizes every pair with the given functions (e.g. a WordPiece tokenizer's Encode).</summary>
    public static IReadOnlyList<TokenizedPair> FromPairs(
        IEnumerable<SentencePair> pairs, Func<string, int[]> tokenizeSource, Func<string, int[]> tokenizeTarget) =>
        pairs.Select(p => new TokenizedPair(tokenizeSource(p.Source), tokenizeTarget(p.Target))).ToList();
}

/// <summary>Which pairs a length filter keeps, as indices into its input, and why the others went.</summary>
public sealed record LengthFilterResult(IReadOnlyList<int> Kept, int DroppedTooShort, int DroppedTooLong, int DroppedRatio);

/// <summary>
/// Keeps pairs whose two sides both have between <see cref="MinTokens"/> and <see cref="MaxTokens"/>
/// tokens and whose length ratio (longer / shorter) is at most <see cref="MaxRatio"/>.
/// </summary>
public sealed record LengthFilter(int MinTokens = 1, int MaxTokens = 128, double MaxRatio = double.PositiveInfinity)
{
    public bool Accepts(TokenizedPair pair) => Reason(pair) == 0;

    public LengthFilterResult Apply(IReadOnlyList<TokenizedPair> pairs)
    {
        var kept = new List<int>(pairs.Count);
        int tooShort = 0, tooLong = 0, ratio = 0;
        for (var i = 0; i < pairs.Count; i++)
        {
            switch (Reason(pairs[i]))
            {
                case 0: kept.Add(i); break;
                case 1: tooShort++; break;
                case 2: tooLong++; break;
                default: ratio++; break;
            }
        }
        return new LengthFilterResult(kept, tooShort, tooLong, ratio);
    }

    private int Reason(TokenizedPair pair)
    {
        var (s, t) = (pair.Source.Length, pair.Target.Length);
        if (s < MinTokens || t < MinTokens) return 1;
        if (s > MaxTokens || t > MaxTokens) return 2;
        if (Math.Max(s, t) > MaxRatio * Math.Max(1, Math.Min(s, t))) return 3;
        return 0;
    }
}

/// <summary>Batching settings.</summary>
public sealed record BatchOptions
{
    /// <summary>Budget per batch, in padded tokens of the longer side: size * max(longest source, longest target).</summary>
    public int MaxTokens { get; init; } = 4096;

    /// <summary>Most pairs per batch (0 = no limit beyond <see cref="MaxTokens"/>).</summary>
    public int MaxPairs { get; init; }

    /// <summary>Seed of the tie-breaking shuffle and of the batch order; use seed + epoch for a new order each epoch.</summary>
    public int Seed { get; init; }

    /// <summary>Shuffle (seeded) the pairs before sorting and the batches after; false keeps input order for ties and length order for batches.</summary>
    public bool Shuffle { get; init; } = true;
}

/// <summary>
/// Batches by token count with length bucketing: pairs are shuffled with the seed (so equal lengths
/// mix differently per seed), stably sorted by (target length, source length), cut greedily into
/// batches that fit <see cref="BatchOptions.MaxTokens"/>, and the batches shuffled with the seed.
/// Sorting keeps pairs of similar length together, so little padding is needed; the same pairs and
/// seed always give the same batches. A pair longer than the budget gets a batch of its own.
/// </summary>
public static class TokenBatcher
{
    public static IReadOnlyList<TranslationBatch> CreateBatches(IReadOnlyList<TokenizedPair> pairs, BatchOptions? options = null)
    {
        options ??= new BatchOptions();
        if (options.MaxTokens < 1) throw new ArgumentException($"MaxTokens must be positive, got {options.MaxTokens}");
        var random = new Random(options.Seed);
        var order = Enumerable.Range(0, pairs.Count).ToArray();
        if (options.Shuffle) random.Shuffle(order);
        order = order.OrderBy(i => pairs[i].Target.Length).ThenBy(i => pairs[i].Source.Length).ToArray(); // stable

        var indices = Enumerable.Range(0, pairs.Count).ToArray();
        var result = LengthBuckets.Pack(indices, order, i => Math.Max(pairs[i].Source.Length, pairs[i].Target.Length), options.MaxTokens, options.MaxPairs)
            .Select(batch => Make(batch, pairs)).ToArray();
        if (options.Shuffle) random.Shuffle(result);
        return result;
    }

    /// <summary>Padding tokens over all tokens after padding, both sides, in [0, 1).</summary>
    public static double PaddingFraction(IEnumerable<TranslationBatch> batches)
    {
        long real = 0, padded = 0;
        foreach (var batch in batches)
        {
            real += batch.RealTokens;
            padded += batch.PaddedTokens;
        }
        return padded == 0 ? 0 : (double)(padded - real) / padded;
    }

    private static TranslationBatch Make(List<int> indices, IReadOnlyList<TokenizedPair> pairs) =>
        new(indices.Select(i => pairs[i].Source).ToArray(), indices.Select(i => pairs[i].Target).ToArray()) { Indices = indices.ToArray() };
}
