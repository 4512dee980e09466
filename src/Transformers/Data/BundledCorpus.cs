using System.IO.Compression;

namespace Transformers.Data;

/// <summary>
/// The French->English corpus shipped inside this assembly (embedded resource, no file or network
/// access): ~177k distinct pairs of human-translated software messages from the French gettext
/// catalogs of 44 Debian 12 packages, cleaned as described in experiments/corpus/report.md
/// (sources and licenses: Data/Bundled/NOTICE.md). Source is French, Target English; File is
/// "fr-en.tsv.gz" and Line the 1-based line in it.
/// </summary>
public static class BundledCorpus
{
    /// <summary>How a corpus argument names this corpus (`--data bundled`).</summary>
    public const string Name = "bundled";

    /// <summary>Manifest name of the gzip TSV (English TAB French TAB package).</summary>
    public const string ResourceName = "Transformers.Data.Bundled.fr-en.tsv.gz";

    private const string FileName = "fr-en.tsv.gz";

    private static readonly Lazy<(ParallelCorpus Corpus, string[] Packages)> Contents = new(Read);

    /// <summary>All pairs, in file order (read once, then shared: the pairs are immutable).</summary>
    public static ParallelCorpus Load() => Contents.Value.Corpus;

    /// <summary>The Debian package whose catalog a pair of this corpus comes from (the TSV's third column): e.g. "apt".</summary>
    public static string PackageOf(SentencePair pair)
    {
        var packages = Contents.Value.Packages;
        return pair.File == FileName && pair.Line >= 1 && pair.Line <= packages.Length && packages[pair.Line - 1].Length > 0
            ? packages[pair.Line - 1]
            : throw new ArgumentException($"{pair.File}:{pair.Line} is not a pair of the bundled corpus");
    }

    /// <summary>The deterministic split of <see cref="Load"/> (by hash of the normalized English side; 3% dev, 3% test by default).</summary>
    public static CorpusSplit LoadSplit(SplitOptions? options = null) => CorpusSplit.Create(Load().Pairs, options);

    private static (ParallelCorpus, string[]) Read()
    {
        using var resource = typeof(BundledCorpus).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"embedded resource {ResourceName} is missing from {typeof(BundledCorpus).Assembly.GetName().Name}");
        using var gzip = new GZipStream(resource, CompressionMode.Decompress);
        using var bytes = new MemoryStream();
        gzip.CopyTo(bytes);
        var lines = Utf8Lines.Split(bytes.ToArray(), FileName).ToList();
        var names = new Dictionary<string, string>(StringComparer.Ordinal);                     // 44 names, each stored once
        var packages = lines.Select(l => l.Error is null && l.Text.Split('\t') is { Length: >= 3 } fields
            ? names.TryGetValue(fields[2], out var known) ? known : names[fields[2]] = fields[2]
            : "").ToArray();
        return (ParallelCorpus.FromTsvLines(lines, FileName, TsvColumns.BundledFrenchEnglish), packages);
    }
}
