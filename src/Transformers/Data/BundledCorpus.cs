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

    private static readonly Lazy<ParallelCorpus> Corpus = new(Read);

    /// <summary>All pairs, in file order (read once, then shared: the pairs are immutable).</summary>
    public static ParallelCorpus Load() => Corpus.Value;

    /// <summary>The deterministic split of <see cref="Load"/> (by hash of the normalized English side; 3% dev, 3% test by default).</summary>
    public static CorpusSplit LoadSplit(SplitOptions? options = null) => CorpusSplit.Create(Load().Pairs, options);

    private static ParallelCorpus Read()
    {
        using var resource = typeof(BundledCorpus).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"embedded resource {ResourceName} is missing from {typeof(BundledCorpus).Assembly.GetName().Name}");
        using var gzip = new GZipStream(resource, CompressionMode.Decompress);
        using var bytes = new MemoryStream();
        gzip.CopyTo(bytes);
        return ParallelCorpus.FromTsvLines(Utf8Lines.Split(bytes.ToArray(), FileName), FileName, TsvColumns.BundledFrenchEnglish);
    }
}
