using System.Globalization;
using System.IO.Compression;
using System.Text;
using Transformers.Data;

namespace Transformers.CorpusBuilder;

/// <summary>
/// Usage: CorpusBuilder PACKAGES_TXT EXTRACTED_DIR OUT_TSV_GZ REPORT_MD NOTICE_MD
/// PACKAGES_TXT lists "name=version" lines; EXTRACTED_DIR/name/ holds each package's
/// `dpkg-deb -x` tree. Every French catalog (…/fr/LC_MESSAGES/*.mo) is read in a fixed order,
/// cleaned (<see cref="CorpusCleaner"/>), deduplicated, and written as
/// "English TAB French TAB package" lines, gzip-compressed.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length != 5)
        {
            Console.Error.WriteLine("usage: CorpusBuilder PACKAGES_TXT EXTRACTED_DIR OUT_TSV_GZ REPORT_MD NOTICE_MD");
            return 2;
        }
        var (packagesFile, extracted, output, reportPath, noticePath) = (args[0], args[1], args[2], args[3], args[4]);
        var packages = File.ReadAllLines(packagesFile).Where(l => l.Trim().Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('=', 2)).Select(p => (Name: p[0].Trim(), Version: p[1].Trim())).OrderBy(p => p.Name, StringComparer.Ordinal).ToList();

        var cleaner = new CorpusCleaner();
        var seen = new HashSet<(string, string)>();
        var lines = new List<string>();
        var kept = new List<SentencePair>();
        var perPackage = new List<PackageRow>();
        long entries = 0, headers = 0, untranslated = 0, pluralPairs = 0, candidates = 0, duplicates = 0;

        foreach (var (name, version) in packages)
        {
            var root = Path.Combine(extracted, name);
            var catalogs = Directory.EnumerateFiles(root, "*.mo", SearchOption.AllDirectories)
                .Where(p => p.Replace('\\', '/').Contains("/fr/LC_MESSAGES/", StringComparison.Ordinal))
                .OrderBy(p => p, StringComparer.Ordinal).ToList();
            int packageEntries = 0, packageKept = 0;
            foreach (var path in catalogs)
            {
                var catalog = MoFile.Read(path);
                foreach (var entry in catalog.Entries)
                {
                    entries++;
                    packageEntries++;
                    if (entry.IsHeader) { headers++; continue; }
                    if (entry.IsUntranslated) { untranslated++; continue; }
                    var sides = new List<(string En, string Fr)> { (entry.Id, entry.Translations[0]) };
                    if (entry.PluralId is not null && entry.Translations.Count > 1)
                    {
                        sides.Add((entry.PluralId, entry.Translations[1]));
                        pluralPairs++;
                    }
                    foreach (var (en, fr) in sides)
                    {
                        if (fr.Length == 0) { untranslated++; continue; }
                        candidates++;
                        if (cleaner.Clean(en, fr) is not { } pair) continue;
                        if (!seen.Add((pair.English, pair.French))) { duplicates++; continue; }
                        lines.Add($"{pair.English}\t{pair.French}\t{name}");
                        kept.Add(new SentencePair(pair.French, pair.English, name, kept.Count + 1));
                        packageKept++;
                    }
                }
            }
            perPackage.Add(new PackageRow(name, version, catalogs.Count, packageEntries, packageKept, License(root, name)));
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        using (var file = File.Create(output))
        using (var gzip = new GZipStream(file, CompressionLevel.SmallestSize))
        using (var writer = new StreamWriter(gzip, new UTF8Encoding(false)) { NewLine = "\n" })
            foreach (var line in lines) writer.WriteLine(line);

        var split = CorpusSplit.Create(kept);
        var fourWords = kept.Count(p => CorpusCleaner.CountWords(p.Target) >= 4);
        var distinctEnglish = kept.Select(p => CorpusSplit.NormalizeKey(p.Target)).Distinct().Count();
        var report = new StringBuilder();
        report.AppendLine("# Bundled French->English corpus: build report");
        report.AppendLine();
        report.AppendLine("Built by `experiments/corpus/build.sh` from the French gettext catalogs (`*/fr/LC_MESSAGES/*.mo`) of the");
        report.AppendLine("pinned Debian 12 packages in `experiments/corpus/packages.txt`. Output: `src/Transformers/Data/Bundled/fr-en.tsv.gz`");
        report.AppendLine($"({new FileInfo(output).Length / 1024.0 / 1024.0:F2} MiB), one `English TAB French TAB package` line per distinct pair.");
        report.AppendLine($"The build is deterministic: rebuilding with the same .NET SDK (its zlib) gives the same bytes, SHA-256 `{Sha256(output)}`.");
        report.AppendLine();
        report.AppendLine("## Result");
        report.AppendLine();
        report.AppendLine("| figure | value |");
        report.AppendLine("| --- | ---: |");
        report.AppendLine($"| distinct pairs | {kept.Count} |");
        report.AppendLine($"| pairs with >= 4 English words | {fourWords} |");
        report.AppendLine($"| distinct normalized English sides | {distinctEnglish} |");
        report.AppendLine($"| train / dev / test pairs | {split.Train.Count} / {split.Dev.Count} / {split.Test.Count} |");
        report.AppendLine($"| mean English words per pair | {kept.Average(p => CorpusCleaner.CountWords(p.Target)).ToString("F2", CultureInfo.InvariantCulture)} |");
        report.AppendLine();
        report.AppendLine("## Padding of length-bucketed batches (train part)");
        report.AppendLine();
        report.AppendLine("Measured with a stand-in tokenizer (words and single punctuation marks, regex `\\w+|[^\\w\\s]`), not the");
        report.AppendLine("project's WordPiece tokenizer, which subword-splits and so gives longer, smoother length distributions.");
        report.AppendLine("`TokenBatcher.CreateBatches` with seed 0; padding = pad tokens / all tokens after padding, both sides.");
        report.AppendLine();
        report.AppendLine("| max tokens per batch | batches | padding |");
        report.AppendLine("| ---: | ---: | ---: |");
        var tokenized = split.Train.Select(p => new TokenizedPair(new int[StandInTokens(p.Source)], new int[StandInTokens(p.Target)])).ToList();
        foreach (var maxTokens in new[] { 2048, 4096, 8192 })
        {
            var batches = TokenBatcher.CreateBatches(tokenized, new BatchOptions { MaxTokens = maxTokens, Seed = 0 });
            report.AppendLine($"| {maxTokens} | {batches.Count} | {(100 * TokenBatcher.PaddingFraction(batches)).ToString("F2", CultureInfo.InvariantCulture)}% |");
        }
        report.AppendLine();
        report.AppendLine("## Cleaning, in the order the rules apply");
        report.AppendLine();
        report.AppendLine("| rule | pairs |");
        report.AppendLine("| --- | ---: |");
        report.AppendLine($"| catalog entries read | {entries} |");
        report.AppendLine($"| dropped: header entry | {headers} |");
        report.AppendLine("| dropped: fuzzy (msgfmt leaves them out of .mo files) | 0 |");
        report.AppendLine($"| dropped: untranslated (empty msgstr / plural form) | {untranslated} |");
        report.AppendLine($"| plural entries (each also gives msgid_plural -> msgstr[1]) | {pluralPairs} |");
        report.AppendLine($"| candidate pairs | {candidates} |");
        foreach (var (rule, count) in cleaner.Counts)
            report.AppendLine($"| {Describe(rule)} | {count} |");
        report.AppendLine($"| dropped: duplicate (same English and French) | {duplicates} |");
        report.AppendLine($"| **kept** | **{kept.Count}** |");
        report.AppendLine();
        report.AppendLine("## Per package");
        report.AppendLine();
        report.AppendLine("| package | version | catalogs | entries | pairs kept (first occurrence) |");
        report.AppendLine("| --- | --- | ---: | ---: | ---: |");
        foreach (var row in perPackage) report.AppendLine($"| {row.Name} | {row.Version} | {row.Catalogs} | {row.Entries} | {row.Kept} |");
        File.WriteAllText(reportPath, report.ToString());

        var notice = new StringBuilder();
        notice.AppendLine("# NOTICE: fr-en.tsv.gz");
        notice.AppendLine();
        notice.AppendLine("`fr-en.tsv.gz` is derived from the French message catalogs (human translations of program messages)");
        notice.AppendLine("shipped in the Debian 12 (bookworm) binary packages below, extracted with `dpkg-deb -x` and cleaned by");
        notice.AppendLine("`experiments/corpus/build.sh`. The third column of every line names the package it came from. Each");
        notice.AppendLine("catalog keeps the license of its package (as stated in that package's `/usr/share/doc/<package>/copyright`);");
        notice.AppendLine("the translations are the work of the respective translation teams.");
        notice.AppendLine();
        notice.AppendLine("| package | version | licenses named in the package's copyright file (catalogs usually follow the program's) |");
        notice.AppendLine("| --- | --- | --- |");
        foreach (var row in perPackage) notice.AppendLine($"| {row.Name} | {row.Version} | {row.License} |");
        File.WriteAllText(noticePath, notice.ToString());

        Console.WriteLine($"{kept.Count} pairs ({fourWords} with >= 4 English words); train {split.Train.Count}, dev {split.Dev.Count}, test {split.Test.Count}");
        return 0;
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }

    /// <summary>Stand-in token count for the padding figure: words and single punctuation marks.</summary>
    private static int StandInTokens(string text) => System.Text.RegularExpressions.Regex.Count(text, @"\w+|[^\w\s]");

    private sealed record PackageRow(string Name, string Version, int Catalogs, int Entries, int Kept, string License);

    private static string Describe(CleaningRule rule) => rule switch
    {
        CleaningRule.DroppedIdentifierLike => "dropped: msgid is an identifier, not text",
        CleaningRule.DroppedMarkupHeavy => "dropped: markup-heavy (more than 4 tags, or tags over 30% of a side)",
        CleaningRule.DroppedPlaceholderMismatch => "dropped: placeholders differ between the sides",
        CleaningRule.DroppedNoLetters => "dropped: a side has no letter outside placeholders",
        CleaningRule.DroppedIdentical => "dropped: French identical to English",
        CleaningRule.DroppedTooLong => "dropped: more than 50 English words",
        CleaningRule.DroppedLengthRatio => "dropped: implausible length ratio (> 2.5 with 10 chars slack)",
        CleaningRule.ChangedWhitespace => "changed: whitespace normalized (newlines, tabs, runs)",
        CleaningRule.ChangedUnicodeNfc => "changed: Unicode normalized to NFC",
        CleaningRule.ChangedTagsStripped => "changed: a few tags stripped",
        CleaningRule.ChangedEntitiesUnescaped => "changed: HTML/XML entities unescaped",
        CleaningRule.ChangedAcceleratorsStripped => "changed: accelerator marker (_ & ~) stripped",
        CleaningRule.ChangedQualifierStripped => "changed: translator-context prefix (?plural:) stripped from the msgid",
        CleaningRule.KeptWithPlaceholders => "kept with placeholders, the same on both sides",
        _ => rule.ToString(),
    };

    /// <summary>
    /// The distinct "License:" names of the package's copyright file (machine-readable format), else the
    /// license names its free text mentions; a doc directory that links to another package's says so.
    /// </summary>
    private static string License(string root, string package)
    {
        var docDir = new DirectoryInfo(Path.Combine(root, "usr", "share", "doc", package));
        if (docDir.LinkTarget is { } target) return $"see the copyright file of package {Path.GetFileName(target)} (its doc directory links there)";
        var path = Path.Combine(docDir.FullName, "copyright");
        if (!File.Exists(path)) return "see the package's copyright file";
        var text = File.ReadAllLines(path);
        var stated = text.Where(l => l.StartsWith("License:", StringComparison.Ordinal))
            .Select(l => l["License:".Length..].Trim()).Where(l => l.Length > 0).Distinct().ToList();
        if (stated.Count > 0) return string.Join("; ", stated.Take(6)) + (stated.Count > 6 ? "; ..." : "");
        var mentioned = new[] { "GNU General Public License", "GNU Lesser General Public License", "GNU Library General Public License", "Mozilla Public License", "Apache", "BSD", "MIT" }
            .Where(name => text.Any(l => l.Contains(name, StringComparison.Ordinal))).ToList();
        return mentioned.Count > 0 ? string.Join("; ", mentioned) + " (named in the copyright text)" : "see the package's copyright file";
    }
}
