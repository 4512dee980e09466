using System.Globalization;
using System.Text;

namespace Transformers.Data;

/// <summary>The three parts of a corpus.</summary>
public enum SplitPart
{
    Train,
    Dev,
    Test,
}

/// <summary>Sizes of the held-out parts, in thousandths of the hash space, and which side is hashed.</summary>
public sealed record SplitOptions
{
    /// <summary>Share of the hash space that goes to dev (30 = 3%).</summary>
    public int DevPerMille { get; init; } = 30;

    /// <summary>Share of the hash space that goes to test (30 = 3%).</summary>
    public int TestPerMille { get; init; } = 30;

    /// <summary>Hash the target side (English in fr->en) when true, the source side otherwise.</summary>
    public bool HashTarget { get; init; } = true;
}

/// <summary>
/// A deterministic train/dev/test split: each pair goes where the 64-bit FNV-1a hash of its
/// normalized English side (NFC, lower-cased, whitespace collapsed) falls, modulo 1000. Pairs
/// with the same normalized English therefore always share a part, so a sentence translated
/// twice cannot be trained on and tested on. The same input gives the same split on every
/// machine and run (no seed, no dependence on order).
/// </summary>
public sealed record CorpusSplit(IReadOnlyList<SentencePair> Train, IReadOnlyList<SentencePair> Dev, IReadOnlyList<SentencePair> Test)
{
    public static CorpusSplit Create(IEnumerable<SentencePair> pairs, SplitOptions? options = null)
    {
        options ??= new SplitOptions();
        if (options.DevPerMille < 0 || options.TestPerMille < 0 || options.DevPerMille + options.TestPerMille > 1000)
            throw new ArgumentException($"dev and test shares must be non-negative and sum to at most 1000 per mille, got {options.DevPerMille} and {options.TestPerMille}");
        var parts = new[] { new List<SentencePair>(), new List<SentencePair>(), new List<SentencePair>() };
        foreach (var pair in pairs)
            parts[(int)PartOf(options.HashTarget ? pair.Target : pair.Source, options)].Add(pair);
        return new CorpusSplit(parts[0], parts[1], parts[2]);
    }

    /// <summary>
    /// The split that <c>transformers train --data SPECS</c> trains on (and <c>corpus export</c> writes), from what
    /// that option takes:
    /// <list type="bullet">
    /// <item>nothing or <c>bundled</c>: <see cref="BundledCorpus.LoadSplit"/>;</item>
    /// <item>one directory in the <see cref="CorpusExport"/> layout (train.tsv, dev.tsv, test.tsv, French TAB English):
    /// <see cref="CorpusExport.Read"/>, the split as given;</item>
    /// <item>corpus files, pooled in the order given (a Moses pair first) and split by <see cref="Create"/>:
    /// <c>.tsv</c>/<c>.txt</c> as English TAB French (<see cref="TsvColumns.TatoebaFrenchEnglish"/>),
    /// <c>.po</c>/<c>.mo</c> catalogs, and one Moses pair <c>X.fr X.en</c>.</item>
    /// </list>
    /// Errors name the option and the file: unknown extension, no pairs, a directory among other values.
    /// </summary>
    public static CorpusSplit Load(IReadOnlyList<string> specs)
    {
        if (specs.Count == 0 || (specs.Count == 1 && specs[0] == BundledCorpus.Name)) return BundledCorpus.LoadSplit();
        if (specs.FirstOrDefault(Directory.Exists) is { } directory)
        {
            if (specs.Count > 1) throw new ArgumentException($"--data {directory}: a corpus directory must be the only --data value");
            var split = CorpusExport.Read(directory);
            if (split.Train.Count + split.Dev.Count + split.Test.Count == 0) throw new ArgumentException($"--data {directory}: no sentence pairs");
            return split;
        }
        var pairs = new List<SentencePair>();
        var files = specs.ToList();
        var fr = files.FirstOrDefault(f => f.EndsWith(".fr", StringComparison.Ordinal));
        var en = files.FirstOrDefault(f => f.EndsWith(".en", StringComparison.Ordinal));
        if (fr is not null && en is not null)
        {
            pairs.AddRange(ParallelCorpus.FromMoses(fr, en).Pairs);
            files.Remove(fr);
            files.Remove(en);
        }
        foreach (var f in files)
        {
            var ext = Path.GetExtension(f).ToLowerInvariant();
            pairs.AddRange(ext switch
            {
                ".po" or ".mo" => ParallelCorpus.FromGettext(f).Pairs,
                ".tsv" or ".txt" => ParallelCorpus.FromTsv(f, TsvColumns.TatoebaFrenchEnglish).Pairs,
                _ => throw new ArgumentException($"--data {f}: unknown corpus format (use bundled, a directory from `corpus export`, .tsv, .po, .mo, or a .fr/.en pair)"),
            });
        }
        if (pairs.Count == 0) throw new ArgumentException($"--data {string.Join(" ", specs)}: no sentence pairs");
        return Create(pairs);
    }

    /// <summary>
    /// This split if each of <paramref name="parts"/> holds a pair; otherwise an error that gives the sizes and what a
    /// corpus needs (training evaluates on dev, so an empty dev part would only fail once training is over).
    /// <paramref name="source"/> names the corpus in the message (what <c>--data</c> was given).
    /// </summary>
    public CorpusSplit Require(string source, params SplitPart[] parts)
    {
        var empty = parts.Where(p => this[p].Count == 0).Select(p => p.ToString().ToLowerInvariant()).ToList();
        if (empty.Count == 0) return this;
        var defaults = new SplitOptions();
        throw new ArgumentException(
            $"--data {source}: too small to split: {Train.Count} train, {Dev.Count} dev, {Test.Count} test pairs, and {string.Join(" and ", empty)} " +
            $"must have at least one. Dev and test each take {defaults.DevPerMille / 10.0:0.#} % of the distinct English sentences (by hash), " +
            $"so a corpus needs about {MinimumDistinctTargets} of them or more; or give a directory with train.tsv, dev.tsv and test.tsv " +
            "(the layout `corpus export` writes) to choose the split yourself");
    }

    /// <summary>
    /// Distinct English sentences from which the default split leaves dev and test empty with probability below 1 % each:
    /// 0.97^152 ≈ 0.98 %.
    /// </summary>
    public const int MinimumDistinctTargets = 152;

    /// <summary>The part a sentence (the hashed side) belongs to.</summary>
    public static SplitPart PartOf(string sentence, SplitOptions? options = null)
    {
        options ??= new SplitOptions();
        var bucket = Fnv1a64(Encoding.UTF8.GetBytes(NormalizeKey(sentence))) % 1000;
        if (bucket < (ulong)options.TestPerMille) return SplitPart.Test;
        if (bucket < (ulong)(options.TestPerMille + options.DevPerMille)) return SplitPart.Dev;
        return SplitPart.Train;
    }

    /// <summary>The hashed form: NFC, lower-cased (invariant culture), whitespace runs collapsed, trimmed.</summary>
    public static string NormalizeKey(string sentence) =>
        CorpusCleaner.NormalizeWhitespace(sentence.Normalize(NormalizationForm.FormC).ToLower(CultureInfo.InvariantCulture));

    /// <summary>The part by name: train, dev or test.</summary>
    public IReadOnlyList<SentencePair> this[SplitPart part] => part switch
    {
        SplitPart.Train => Train,
        SplitPart.Dev => Dev,
        SplitPart.Test => Test,
        _ => throw new ArgumentOutOfRangeException(nameof(part), part, "unknown split part"),
    };

    /// <summary>64-bit FNV-1a (offset basis 14695981039346656037, prime 1099511628211).</summary>
    public static ulong Fnv1a64(ReadOnlySpan<byte> bytes)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in bytes)
        {
            hash ^= b;
            hash *= 1099511628211UL;
        }
        return hash;
    }
}
