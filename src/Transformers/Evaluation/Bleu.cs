using System.Globalization;

namespace Transformers.Evaluation;

/// <summary>How BLEU scores an n-gram order with no match (sacreBLEU's smooth_method).</summary>
public enum BleuSmoothing
{
    /// <summary>NIST geometric sequence: the k-th order with no match gets precision 1 / (2^k * total). sacreBLEU's default.</summary>
    Exp,

    /// <summary>An order with no match gets precision <see cref="BleuOptions.SmoothValue"/> / total.</summary>
    Floor,

    /// <summary>No smoothing: any order with no match makes the score 0.</summary>
    None,
}

/// <summary>BLEU settings; the defaults are sacreBLEU 2.x's corpus BLEU defaults.</summary>
public sealed record BleuOptions
{
    public BleuTokenization Tokenization { get; init; } = BleuTokenization.Mteval13a;
    public BleuSmoothing Smoothing { get; init; } = BleuSmoothing.Exp;

    /// <summary>The floor used by <see cref="BleuSmoothing.Floor"/> (sacreBLEU's default 0.1).</summary>
    public double SmoothValue { get; init; } = 0.1;

    /// <summary>Lower-case hypotheses and references first ("case:lc").</summary>
    public bool Lowercase { get; init; }

    /// <summary>Average only over the orders the hypotheses have n-grams for ("eff:yes"; for sentence BLEU).</summary>
    public bool EffectiveOrder { get; init; }
}

/// <summary>
/// A corpus BLEU result. <see cref="Score"/> and <see cref="Precisions"/> are percentages.
/// <see cref="ToString"/> prints it as sacreBLEU does:
/// <c>BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)</c>.
/// </summary>
public sealed record BleuScore(
    double Score,
    IReadOnlyList<long> Correct,
    IReadOnlyList<long> Total,
    IReadOnlyList<double> Precisions,
    double BrevityPenalty,
    long HypothesisLength,
    long ReferenceLength,
    string Signature)
{
    public override string ToString()
    {
        var c = CultureInfo.InvariantCulture;
        var ratio = ReferenceLength == 0 ? 0 : (double)HypothesisLength / ReferenceLength;
        var precisions = string.Join('/', Precisions.Select(p => p.ToString("F1", c)));
        return $"BLEU = {Score.ToString("F2", c)} {precisions} (BP = {BrevityPenalty.ToString("F3", c)} ratio = {ratio.ToString("F3", c)} " +
               $"hyp_len = {HypothesisLength} ref_len = {ReferenceLength})";
    }
}

/// <summary>
/// Corpus BLEU (Papineni et al., 2002) computed exactly as sacreBLEU 2.x does by default: 13a
/// tokenization, n-grams of order 1..4 clipped by their largest count in any reference, the
/// reference length closest to each hypothesis (the shorter on a tie) for the brevity penalty,
/// exponential smoothing. Empty references are missing references ("nrefs:var").
/// </summary>
public static class Bleu
{
    /// <summary>The highest n-gram order.</summary>
    public const int MaxOrder = 4;

    /// <summary>
    /// Scores <paramref name="hypotheses"/> against reference streams in sacreBLEU's layout:
    /// <c>references[k][i]</c> is the k-th reference of hypothesis i.
    /// </summary>
    public static BleuScore Corpus(
        IReadOnlyList<string> hypotheses, IReadOnlyList<IReadOnlyList<string>> references, BleuOptions? options = null)
    {
        options ??= new BleuOptions();
        var segments = ReferenceSet.Align(hypotheses, references);
        var correct = new long[MaxOrder];
        var total = new long[MaxOrder];
        long hypothesisLength = 0, referenceLength = 0;
        foreach (var (hypothesis, refs) in segments)
        {
            var hypWords = Words(hypothesis, options);
            var refWords = refs.Select(r => Words(r, options)).ToList();
            hypothesisLength += hypWords.Length;
            referenceLength += ClosestLength(hypWords.Length, refWords);

            var maxRefCounts = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var words in refWords)
                foreach (var (ngram, count) in NGrams(words))
                    if (!maxRefCounts.TryGetValue(ngram, out var seen) || count > seen) maxRefCounts[ngram] = count;
            foreach (var (ngram, count) in NGrams(hypWords))
            {
                var order = ngram.Count(c => c == ' '); // 0-based order: n-1 separators
                total[order] += count;
                correct[order] += Math.Min(count, maxRefCounts.GetValueOrDefault(ngram));
            }
        }
        var nrefs = ReferenceSet.CountLabel(segments, references.Count);
        return FromStatistics(correct, total, hypothesisLength, referenceLength, options, nrefs);
    }

    /// <summary>The score from sufficient statistics (sacreBLEU's compute_bleu).</summary>
    public static BleuScore FromStatistics(
        IReadOnlyList<long> correct, IReadOnlyList<long> total, long hypothesisLength, long referenceLength,
        BleuOptions? options = null, string nrefs = "1")
    {
        options ??= new BleuOptions();
        if (correct.Count != MaxOrder || total.Count != MaxOrder)
            throw new ArgumentException($"BLEU statistics need {MaxOrder} orders, got {correct.Count} correct and {total.Count} total counts");
        var precisions = new double[MaxOrder];
        var smoothing = 1.0;
        var effectiveOrder = MaxOrder;
        for (var n = 0; n < MaxOrder; n++)
        {
            if (total[n] == 0) break;
            if (options.EffectiveOrder) effectiveOrder = n + 1;
            if (correct[n] > 0) precisions[n] = 100.0 * correct[n] / total[n];
            else if (options.Smoothing == BleuSmoothing.Exp)
            {
                smoothing *= 2;
                precisions[n] = 100.0 / (smoothing * total[n]);
            }
            else if (options.Smoothing == BleuSmoothing.Floor) precisions[n] = 100.0 * options.SmoothValue / total[n];
        }

        var brevityPenalty = hypothesisLength >= referenceLength ? 1.0
            : hypothesisLength > 0 ? Math.Exp(1.0 - (double)referenceLength / hypothesisLength) : 0.0;
        // A zero precision among the averaged orders makes the score 0 (sacreBLEU: log(0) := -9999999999).
        var score = precisions.Take(effectiveOrder).Any(p => p == 0) ? 0.0
            : brevityPenalty * Math.Exp(precisions.Take(effectiveOrder).Sum(Math.Log) / effectiveOrder);
        return new BleuScore(score, correct.ToArray(), total.ToArray(), precisions, brevityPenalty,
            hypothesisLength, referenceLength, Signature(options, nrefs));
    }

    /// <summary>sacreBLEU 2.x's signature, e.g. <c>nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.x.x</c>.</summary>
    public static string Signature(BleuOptions options, string nrefs)
    {
        var smooth = options.Smoothing switch
        {
            BleuSmoothing.Exp => "exp",
            BleuSmoothing.Floor => "floor[" + options.SmoothValue.ToString("0.00", CultureInfo.InvariantCulture) + "]",
            _ => "none",
        };
        var tok = options.Tokenization == BleuTokenization.Mteval13a ? "13a" : "none";
        return $"nrefs:{nrefs}|case:{(options.Lowercase ? "lc" : "mixed")}|eff:{(options.EffectiveOrder ? "yes" : "no")}" +
               $"|tok:{tok}|smooth:{smooth}|version:{ReferenceSet.SacreBleuVersion}";
    }

    private static string[] Words(string segment, BleuOptions options)
    {
        if (options.Lowercase) segment = segment.ToLowerInvariant();
        segment = segment.TrimEnd();
        var tokenized = options.Tokenization == BleuTokenization.Mteval13a ? Tokenizer13a.Tokenize(segment) : segment;
        return Tokenizer13a.SplitWhitespace(tokenized);
    }

    /// <summary>The reference length closest to the hypothesis length; on a tie, the shorter.</summary>
    private static int ClosestLength(int hypothesisLength, IEnumerable<string[]> references)
    {
        int best = -1, bestDiff = int.MaxValue;
        foreach (var length in references.Select(r => r.Length))
        {
            var diff = Math.Abs(hypothesisLength - length);
            if (diff < bestDiff || (diff == bestDiff && length < best)) (best, bestDiff) = (length, diff);
        }
        return best;
    }

    /// <summary>Counts of every n-gram of order 1..4, keyed by its words joined with single spaces.</summary>
    private static Dictionary<string, int> NGrams(string[] words)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var n = 1; n <= MaxOrder; n++)
            for (var i = 0; i + n <= words.Length; i++)
            {
                var key = string.Join(' ', words, i, n);
                counts[key] = counts.GetValueOrDefault(key) + 1;
            }
        return counts;
    }
}
