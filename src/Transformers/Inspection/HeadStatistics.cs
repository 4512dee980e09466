namespace Transformers.Inspection;

/// <summary>
/// Summary numbers of one head, each the mean over its query rows (Clark et al. 2019, "What Does BERT Look At?", §3-4).
/// Shares are in [0, 1]. Position-based numbers (distance, self, previous, next) exist only where queries and keys
/// are the same sequence (self-attention); they are null for cross and recurrent attention.
/// </summary>
/// <param name="Entropy">−Σ_k p_k ln p_k in nats (0: one key; ln n: uniform over n keys).</param>
/// <param name="MeanDistance">Σ_k p_k |q − k|: how far, in tokens, a query looks on average.</param>
/// <param name="Cls">Share of attention to [CLS] (or a start token &lt;s&gt;/&lt;bos&gt;).</param>
/// <param name="Sep">Share of attention to [SEP] (or an end token &lt;/s&gt;/&lt;eos&gt;).</param>
/// <param name="Punctuation">Share of attention to tokens made only of punctuation or symbols (e.g. "." "," "##-").</param>
/// <param name="Self">p[q, q]: attention of a token to itself.</param>
/// <param name="Previous">p[q, q − 1], over queries q ≥ 1.</param>
/// <param name="Next">p[q, q + 1], over queries q ≤ n − 2.</param>
/// <param name="MaxProbability">max_k p_k: sharpness; for cross-attention, how close the head is to a hard alignment.</param>
public sealed record HeadStatistics(
    AttentionKind Kind, int Layer, int Head,
    double Entropy, double? MeanDistance, double Cls, double Sep, double Punctuation,
    double? Self, double? Previous, double? Next, double MaxProbability)
{
    /// <summary>Share above which a head is called a previous-/next-token, [CLS] or [SEP] head in the report.</summary>
    public const double PatternThreshold = 0.5;

    /// <summary>A short label of the pattern the head follows ("previous", "next", "[SEP]", "[CLS]", "self", "punctuation", "broad") or "".</summary>
    public string Pattern =>
        Previous > PatternThreshold ? "previous token"
        : Next > PatternThreshold ? "next token"
        : Sep > PatternThreshold ? "[SEP]"
        : Cls > PatternThreshold ? "[CLS]"
        : Self > PatternThreshold ? "self"
        : Punctuation > PatternThreshold ? "punctuation"
        : MaxProbability < 0.2 ? "broad"
        : "";
}

/// <summary>Computes <see cref="HeadStatistics"/> for every head of a record.</summary>
public static class HeadStatisticsCalculator
{
    private static readonly HashSet<string> ClsTokens = new(StringComparer.Ordinal) { "[CLS]", "<s>", "<bos>", "[BOS]" };
    private static readonly HashSet<string> SepTokens = new(StringComparer.Ordinal) { "[SEP]", "</s>", "<eos>", "[EOS]" };

    public static IReadOnlyList<HeadStatistics> Compute(AttentionRecord record)
    {
        var result = new List<HeadStatistics>();
        foreach (var kind in record.Kinds)
        {
            var keys = record.KeyTokens(kind);
            bool[] cls = keys.Select(ClsTokens.Contains).ToArray();
            bool[] sep = keys.Select(SepTokens.Contains).ToArray();
            bool[] punct = keys.Select(IsPunctuation).ToArray();
            foreach (var layer in record.LayersOf(kind))
                for (int h = 0; h < layer.Heads; h++)
                    result.Add(ForHead(layer, h, cls, sep, punct));
        }
        return result;
    }

    /// <summary>Statistics of head <paramref name="head"/>; the flags mark [CLS], [SEP] and punctuation keys.</summary>
    public static HeadStatistics ForHead(AttentionLayer layer, int head, bool[] isCls, bool[] isSep, bool[] isPunctuation)
    {
        bool positional = layer.Kind is AttentionKind.EncoderSelf or AttentionKind.DecoderSelf;
        int n = layer.Queries, m = layer.Keys;
        double entropy = 0, distance = 0, cls = 0, sep = 0, punct = 0, self = 0, prev = 0, next = 0, max = 0;
        for (int q = 0; q < n; q++)
        {
            var row = layer.Row(head, q);
            double rowMax = 0;
            for (int k = 0; k < m; k++)
            {
                double p = row[k];
                if (p > 0) entropy -= p * Math.Log(p);
                if (p > rowMax) rowMax = p;
                distance += p * Math.Abs(q - k);
                if (isCls[k]) cls += p;
                if (isSep[k]) sep += p;
                if (isPunctuation[k]) punct += p;
            }
            max += rowMax;
            if (positional)
            {
                self += row[q];
                if (q >= 1) prev += row[q - 1];
                if (q + 1 < m) next += row[q + 1];
            }
        }
        double? Positional(double sum, int count) => positional ? (count > 0 ? sum / count : 0) : null;
        return new HeadStatistics(layer.Kind, layer.Layer, head,
            Entropy: entropy / n, MeanDistance: Positional(distance, n), Cls: cls / n, Sep: sep / n, Punctuation: punct / n,
            Self: Positional(self, n), Previous: Positional(prev, n - 1), Next: Positional(next, Math.Min(n, m - 1)), MaxProbability: max / n);
    }

    /// <summary>True for a token made only of punctuation or symbol characters, ignoring a WordPiece "##" prefix; special tokens are not punctuation.</summary>
    public static bool IsPunctuation(string token)
    {
        if (ClsTokens.Contains(token) || SepTokens.Contains(token) || token.StartsWith('[') && token.EndsWith(']') && token.Length > 2) return false;
        var t = token.StartsWith("##", StringComparison.Ordinal) && token.Length > 2 ? token[2..] : token;
        return t.Length > 0 && t.All(c => char.IsPunctuation(c) || char.IsSymbol(c));
    }
}
