using System.Globalization;
using System.Text;

namespace Transformers.Evaluation;

/// <summary>chrF settings; the defaults are sacreBLEU 2.x's CHRF() defaults (chrF2).</summary>
public sealed record ChrFOptions
{
    /// <summary>Character n-gram orders 1..CharOrder are averaged (sacreBLEU's nc).</summary>
    public int CharOrder { get; init; } = 6;

    /// <summary>Recall is weighted beta times as much as precision (chrF2: beta 2).</summary>
    public double Beta { get; init; } = 2;

    /// <summary>
    /// sacreBLEU's eps_smoothing: average the per-order F-scores, with orders that have no n-grams
    /// counting as a tiny epsilon. When false (the default, "eff:yes"), precision and recall are
    /// averaged over the orders that both sides have n-grams for, then combined into one F-score.
    /// </summary>
    public bool EpsilonSmoothing { get; init; }

    /// <summary>Count whitespace as characters (sacreBLEU's whitespace=True); the default removes it.</summary>
    public bool KeepWhitespace { get; init; }

    /// <summary>Lower-case both sides first ("case:lc").</summary>
    public bool Lowercase { get; init; }
}

/// <summary>A chrF result: <see cref="Score"/> in percent, printed like sacreBLEU (<c>chrF2 = 59.73</c>).</summary>
public sealed record ChrFScore(double Score, double Beta, string Signature)
{
    public override string ToString() =>
        $"chrF{Beta.ToString(CultureInfo.InvariantCulture)} = {Score.ToString("F2", CultureInfo.InvariantCulture)}";
}

/// <summary>
/// Character n-gram F-score (Popović, 2015) as sacreBLEU 2.x computes chrF2 by default: whitespace
/// removed, character n-grams of order 1..6 counted over Unicode code points, matches clipped; for
/// each hypothesis the reference with the best sentence F-score is kept; the statistics (hypothesis
/// n-grams, reference n-grams, matches per order) are summed over the corpus and turned into one
/// F-beta score. Word n-grams (chrF++) are not implemented (word order 0).
/// </summary>
public static class ChrF
{
    private const double Epsilon = 1e-16;

    /// <summary>Scores hypotheses against reference streams (<c>references[k][i]</c> is the k-th reference of hypothesis i).</summary>
    public static ChrFScore Corpus(
        IReadOnlyList<string> hypotheses, IReadOnlyList<IReadOnlyList<string>> references, ChrFOptions? options = null)
    {
        options ??= new ChrFOptions();
        if (options.CharOrder < 1) throw new ArgumentException($"chrF character order must be at least 1, got {options.CharOrder}");
        var segments = ReferenceSet.Align(hypotheses, references);
        var totals = new long[3 * options.CharOrder];
        foreach (var (hypothesis, refs) in segments)
        {
            var hypNGrams = CharNGrams(hypothesis, options);
            long[]? best = null;
            var bestF = -1.0;
            foreach (var reference in refs)
            {
                var stats = MatchStatistics(hypNGrams, CharNGrams(reference, options));
                var f = FScore(stats, options);
                if (f > bestF) (best, bestF) = (stats, f);
            }
            for (var i = 0; i < totals.Length; i++) totals[i] += best![i];
        }
        return new ChrFScore(FScore(totals, options), options.Beta, Signature(options, ReferenceSet.CountLabel(segments, references.Count)));
    }

    /// <summary>sacreBLEU 2.x's chrF signature, e.g. <c>nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.x.x</c>.</summary>
    public static string Signature(ChrFOptions options, string nrefs) =>
        $"nrefs:{nrefs}|case:{(options.Lowercase ? "lc" : "mixed")}|eff:{(options.EpsilonSmoothing ? "no" : "yes")}" +
        $"|nc:{options.CharOrder}|nw:0|space:{(options.KeepWhitespace ? "yes" : "no")}|version:{ReferenceSet.SacreBleuVersion}";

    /// <summary>The F-score in percent from [hyp count, ref count, matches] per order.</summary>
    private static double FScore(long[] stats, ChrFOptions options)
    {
        var factor = options.Beta * options.Beta;
        double score = 0, averagePrecision = 0, averageRecall = 0;
        var effectiveOrder = 0;
        var orders = stats.Length / 3;
        for (var n = 0; n < orders; n++)
        {
            var (hypCount, refCount, matches) = (stats[3 * n], stats[3 * n + 1], stats[3 * n + 2]);
            var precision = hypCount > 0 ? (double)matches / hypCount : Epsilon;
            var recall = refCount > 0 ? (double)matches / refCount : Epsilon;
            var denominator = factor * precision + recall;
            score += denominator > 0 ? (1 + factor) * precision * recall / denominator : Epsilon;
            if (hypCount > 0 && refCount > 0)
            {
                averagePrecision += precision;
                averageRecall += recall;
                effectiveOrder++;
            }
        }
        if (options.EpsilonSmoothing) return 100 * score / orders;
        if (effectiveOrder == 0) return 0;
        averagePrecision /= effectiveOrder;
        averageRecall /= effectiveOrder;
        if (averagePrecision + averageRecall == 0) return 0;
        return 100 * (1 + factor) * averagePrecision * averageRecall / (factor * averagePrecision + averageRecall);
    }

    private static long[] MatchStatistics(Dictionary<string, int>[] hyp, Dictionary<string, int>[] reference)
    {
        var stats = new long[3 * hyp.Length];
        for (var n = 0; n < hyp.Length; n++)
        {
            stats[3 * n] = hyp[n].Values.Sum();
            stats[3 * n + 1] = reference[n].Values.Sum();
            stats[3 * n + 2] = hyp[n].Sum(kv => (long)Math.Min(kv.Value, reference[n].GetValueOrDefault(kv.Key)));
        }
        return stats;
    }

    /// <summary>Per order (index n-1), the counts of character n-grams, characters being Unicode code points.</summary>
    private static Dictionary<string, int>[] CharNGrams(string text, ChrFOptions options)
    {
        if (options.Lowercase) text = text.ToLowerInvariant();
        if (!options.KeepWhitespace) text = Tokenizer13a.RemoveWhitespace(text);
        var starts = new List<int>();
        for (var i = 0; i < text.Length; i += char.IsSurrogatePair(text, i) ? 2 : 1) starts.Add(i);
        starts.Add(text.Length);
        var codePoints = starts.Count - 1;
        var result = new Dictionary<string, int>[options.CharOrder];
        for (var n = 1; n <= options.CharOrder; n++)
        {
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i + n <= codePoints; i++)
            {
                var key = text[starts[i]..starts[i + n]];
                counts[key] = counts.GetValueOrDefault(key) + 1;
            }
            result[n - 1] = counts;
        }
        return result;
    }
}
