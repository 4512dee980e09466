namespace Transformers.Data;

/// <summary>
/// A sentence pair and where it came from. For a fr->en corpus, Source is French and Target English.
/// </summary>
/// <param name="Line">1-based line in a text file (the .po line where the entry starts; for a .mo file, the 1-based entry number).</param>
public sealed record SentencePair(string Source, string Target, string File, int Line);

/// <summary>Which TSV columns (0-based) hold the two sides; other columns (e.g. attribution) are ignored.</summary>
public sealed record TsvColumns(int Source, int Target)
{
    /// <summary>Tatoeba / manythings.org Anki <c>fra.txt</c>: <c>English TAB French TAB attribution</c>, read as French->English.</summary>
    public static TsvColumns TatoebaFrenchEnglish { get; } = new(Source: 1, Target: 0);

    /// <summary>The bundled corpus layout: <c>English TAB French TAB package</c>, read as French->English.</summary>
    public static TsvColumns BundledFrenchEnglish { get; } = new(Source: 1, Target: 0);

    /// <summary>
    /// The layout <c>transformers corpus export</c> writes (and the PyTorch reference <c>translate_ref.py</c> reads):
    /// <c>French TAB English</c>, the source first.
    /// </summary>
    public static TsvColumns ExportFrenchEnglish { get; } = new(Source: 0, Target: 1);
}

/// <summary>
/// Parallel sentence pairs read from a user's files, with every pair keeping its file and line.
/// Malformed records (missing column, empty side, invalid UTF-8, mismatched line counts) are
/// reported with file and line; <see cref="ErrorPolicy.Fail"/> (the default) throws at the first,
/// <see cref="ErrorPolicy.SkipAndCount"/> skips them and keeps a summary in <see cref="Errors"/>.
/// An empty file is always an error.
/// </summary>
public sealed class ParallelCorpus
{
    private ParallelCorpus(IReadOnlyList<SentencePair> pairs, ReadErrors errors)
    {
        Pairs = pairs;
        Errors = errors;
    }

    public IReadOnlyList<SentencePair> Pairs { get; }

    /// <summary>What was skipped (always empty under <see cref="ErrorPolicy.Fail"/>).</summary>
    public ReadErrors Errors { get; }

    /// <summary>Reads tab-separated pairs. Lines with only whitespace are skipped silently.</summary>
    public static ParallelCorpus FromTsv(string path, TsvColumns? columns = null, ErrorPolicy policy = ErrorPolicy.Fail) =>
        FromTsvLines(Utf8Lines.Read(path), path, columns, policy);

    /// <summary>Reads tab-separated pairs from lines already split (e.g. a decompressed resource).</summary>
    public static ParallelCorpus FromTsvLines(
        IEnumerable<NumberedLine> lines, string name, TsvColumns? columns = null, ErrorPolicy policy = ErrorPolicy.Fail)
    {
        columns ??= TsvColumns.TatoebaFrenchEnglish;
        if (columns.Source < 0 || columns.Target < 0 || columns.Source == columns.Target)
            throw new ArgumentException($"TSV columns must be two different non-negative indices, got source {columns.Source}, target {columns.Target}");
        var errors = new ReadErrors(policy);
        var pairs = new List<SentencePair>();
        var sawLine = false;
        foreach (var line in lines)
        {
            sawLine = true;
            if (line.Error is not null) { errors.Report(line.Error); continue; }
            if (line.Text.Trim().Length == 0) continue;
            var fields = line.Text.Split('\t');
            var source = Field(fields, columns.Source, "source", name, line.Number, errors);
            var target = Field(fields, columns.Target, "target", name, line.Number, errors);
            if (source is null || target is null) continue;
            pairs.Add(new SentencePair(source, target, name, line.Number));
        }
        if (!sawLine) throw new CorpusFormatException(name, "", null, "file is empty");
        return new ParallelCorpus(pairs, errors);
    }

    /// <summary>
    /// Reads Moses-style line-aligned files (<c>corpus.fr</c> + <c>corpus.en</c>): line i of one is the
    /// translation of line i of the other. Different line counts are always an error (the files are
    /// misaligned, so no pair can be trusted).
    /// </summary>
    public static ParallelCorpus FromMoses(string sourcePath, string targetPath, ErrorPolicy policy = ErrorPolicy.Fail)
    {
        var sources = Utf8Lines.Read(sourcePath).ToList();
        var targets = Utf8Lines.Read(targetPath).ToList();
        if (sources.Count == 0) throw new CorpusFormatException(sourcePath, "", null, "file is empty");
        if (targets.Count == 0) throw new CorpusFormatException(targetPath, "", null, "file is empty");
        if (sources.Count != targets.Count)
            throw new CorpusFormatException(sourcePath, $"line {Math.Min(sources.Count, targets.Count) + 1}", null,
                $"line counts differ: {sources.Count} lines here, {targets.Count} in {targetPath}");

        var errors = new ReadErrors(policy);
        var pairs = new List<SentencePair>(sources.Count);
        for (var i = 0; i < sources.Count; i++)
        {
            var (s, t) = (sources[i], targets[i]);
            if (s.Error is not null) { errors.Report(s.Error); continue; }
            if (t.Error is not null) { errors.Report(t.Error); continue; }
            if (s.Text.Trim().Length == 0 && t.Text.Trim().Length == 0) continue; // blank in both: no pair
            if (s.Text.Trim().Length == 0) { errors.Report(new CorpusFormatException(sourcePath, $"line {s.Number}", "source", "empty side")); continue; }
            if (t.Text.Trim().Length == 0) { errors.Report(new CorpusFormatException(targetPath, $"line {t.Number}", "target", "empty side")); continue; }
            pairs.Add(new SentencePair(s.Text.Trim(), t.Text.Trim(), sourcePath, s.Number));
        }
        return new ParallelCorpus(pairs, errors);
    }

    /// <summary>
    /// Reads a gettext catalog (.mo or .po) as msgstr (source, e.g. French) -> msgid (target,
    /// English). The header, untranslated and fuzzy entries are not pairs and are left out; a
    /// plural entry gives msgstr[0] -> msgid and msgstr[1] -> msgid_plural. Strings are taken as
    /// stored (no cleaning: see <see cref="CorpusCleaner"/>).
    /// </summary>
    public static ParallelCorpus FromGettext(string path)
    {
        var catalog = GettextCatalog.Read(path);
        var pairs = new List<SentencePair>();
        foreach (var entry in catalog.Entries)
        {
            if (entry.IsHeader || entry.Fuzzy || entry.IsUntranslated) continue;
            var line = entry.Line;
            if (entry.Translations[0].Length > 0) pairs.Add(new SentencePair(entry.Translations[0], entry.Id, path, line));
            if (entry.PluralId is not null && entry.Translations.Count > 1 && entry.Translations[1].Length > 0)
                pairs.Add(new SentencePair(entry.Translations[1], entry.PluralId, path, line));
        }
        return new ParallelCorpus(pairs, new ReadErrors(ErrorPolicy.Fail));
    }

    /// <summary>Wraps pairs that are already in memory.</summary>
    public static ParallelCorpus FromPairs(IReadOnlyList<SentencePair> pairs) => new(pairs, new ReadErrors(ErrorPolicy.Fail));

    private static string? Field(string[] fields, int column, string role, string file, int line, ReadErrors errors)
    {
        var label = $"column {column + 1} ({role})";
        if (column >= fields.Length)
        {
            errors.Report(new CorpusFormatException(file, $"line {line}", label, $"missing column: the line has {fields.Length} column(s)"));
            return null;
        }
        var value = fields[column].Trim();
        if (value.Length == 0)
        {
            errors.Report(new CorpusFormatException(file, $"line {line}", label, "empty side"));
            return null;
        }
        return value;
    }
}
