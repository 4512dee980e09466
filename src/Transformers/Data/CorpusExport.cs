using System.Text;

namespace Transformers.Data;

/// <summary>One part of an exported split: how many pairs it holds and the three files that hold them.</summary>
/// <param name="Tsv"><c>{part}.tsv</c>: one pair per line, French TAB English.</param>
/// <param name="Source"><c>{part}.fr</c>: the source (French) side, one sentence per line.</param>
/// <param name="Target"><c>{part}.en</c>: the target (English) side, line i translating line i of <paramref name="Source"/>.</param>
public sealed record ExportedPart(SplitPart Part, int Pairs, string Tsv, string Source, string Target);

/// <summary>What <see cref="CorpusExport.Write"/> wrote, and what it had to change so that every sentence fits on one line.</summary>
/// <param name="Parts">Train, dev and test, in that order.</param>
/// <param name="ReplacedSentences">Sentences that held a TAB, CR or LF.</param>
/// <param name="ReplacedCharacters">TAB, CR and LF characters written as spaces, over all sentences.</param>
/// <param name="TrimmedSentences">Sentences written without their leading or trailing whitespace (the readers trim it anyway).</param>
/// <param name="DroppedPairs">Pairs left out because a side was empty once trimmed (the readers reject empty sides).</param>
public sealed record CorpusExportResult(
    IReadOnlyList<ExportedPart> Parts, int ReplacedSentences, int ReplacedCharacters, int TrimmedSentences, int DroppedPairs)
{
    /// <summary>The part by name.</summary>
    public ExportedPart this[SplitPart part] => Parts.Single(p => p.Part == part);
}

/// <summary>
/// Writes a <see cref="CorpusSplit"/> as the files other tools read, and reads such a directory back.
/// For each part (train, dev, test) the directory receives <c>{part}.tsv</c> (French TAB English: the source
/// first, as the PyTorch reference <c>translate_ref.py --data DIR</c> reads it) and the Moses pair
/// <c>{part}.fr</c> + <c>{part}.en</c>. Every file is UTF-8 without BOM, one record per line, each line ended
/// by <c>\n</c> (the last one too), pairs in split order; each is written atomically (<see cref="AtomicFile"/>).
/// <para>
/// A line cannot carry a TAB (the column separator), a CR or an LF (line ends, also for Python's universal
/// newlines): each such character is written as a space and counted. A sentence is also written trimmed,
/// since every reader here trims its fields; a pair whose side is then empty is left out and counted. So
/// reading the files back (<see cref="Read"/>, or <see cref="CorpusSplit.Load"/> on the directory) gives
/// exactly the pairs written, in the same order.
/// </para>
/// </summary>
public static class CorpusExport
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The file name stem of a part: train, dev or test.</summary>
    public static string Stem(SplitPart part) => part switch
    {
        SplitPart.Train => "train",
        SplitPart.Dev => "dev",
        SplitPart.Test => "test",
        _ => throw new ArgumentOutOfRangeException(nameof(part), part, "unknown split part"),
    };

    /// <summary>Writes the nine files into <paramref name="directory"/>, created if missing; existing files of the same names are replaced.</summary>
    public static CorpusExportResult Write(CorpusSplit split, string directory)
    {
        if (File.Exists(directory)) throw new IOException($"{directory}: is a file, not a directory");
        Directory.CreateDirectory(directory);
        var tally = new Tally();
        var parts = new List<ExportedPart>();
        foreach (var part in Enum.GetValues<SplitPart>())
        {
            var lines = new List<(string Source, string Target)>(split[part].Count);
            foreach (var pair in split[part])
            {
                var (source, target) = (tally.OneLine(pair.Source), tally.OneLine(pair.Target));
                if (source.Length == 0 || target.Length == 0) { tally.DroppedPairs++; continue; }
                lines.Add((source, target));
            }
            var stem = Path.Combine(directory, Stem(part));
            var exported = new ExportedPart(part, lines.Count, stem + ".tsv", stem + ".fr", stem + ".en");
            WriteLines(exported.Tsv, lines.Select(l => l.Source + "\t" + l.Target));
            WriteLines(exported.Source, lines.Select(l => l.Source));
            WriteLines(exported.Target, lines.Select(l => l.Target));
            parts.Add(exported);
        }
        return new CorpusExportResult(parts, tally.ReplacedSentences, tally.ReplacedCharacters, tally.TrimmedSentences, tally.DroppedPairs);
    }

    /// <summary>
    /// Reads a directory in the layout <see cref="Write"/> produces: <c>train.tsv</c>, <c>dev.tsv</c> and
    /// <c>test.tsv</c>, French TAB English (<see cref="TsvColumns.ExportFrenchEnglish"/>). The three files are
    /// the split as given (nothing is re-hashed), so a split made elsewhere is used unchanged. An empty file
    /// is an empty part; a missing one is an error naming it.
    /// </summary>
    public static CorpusSplit Read(string directory)
    {
        var parts = Enum.GetValues<SplitPart>().Select(part =>
        {
            var path = Path.Combine(directory, Stem(part) + ".tsv");
            if (!File.Exists(path))
                throw new FileNotFoundException($"{path}: missing; a corpus directory holds train.tsv, dev.tsv and test.tsv (French<TAB>English, as `corpus export` writes them)", path);
            return new FileInfo(path).Length == 0 ? [] : ParallelCorpus.FromTsv(path, TsvColumns.ExportFrenchEnglish).Pairs;
        }).ToArray();
        return new CorpusSplit(parts[0], parts[1], parts[2]);
    }

    private static void WriteLines(string path, IEnumerable<string> lines) => AtomicFile.Write(path, tmp =>
    {
        using var writer = new StreamWriter(tmp, append: false, Utf8);
        foreach (var line in lines)
        {
            writer.Write(line);
            writer.Write('\n');
        }
    });

    /// <summary>Counts what <see cref="OneLine"/> changed.</summary>
    private sealed class Tally
    {
        public int ReplacedSentences, ReplacedCharacters, TrimmedSentences, DroppedPairs;

        /// <summary>The sentence as one line: TAB, CR and LF become spaces, then the ends are trimmed.</summary>
        public string OneLine(string sentence)
        {
            var replaced = 0;
            foreach (var c in sentence)
                if (c is '\t' or '\r' or '\n') replaced++;
            var line = sentence;
            if (replaced > 0)
            {
                ReplacedSentences++;
                ReplacedCharacters += replaced;
                line = line.Replace('\t', ' ').Replace('\r', ' ').Replace('\n', ' ');
            }
            var trimmed = line.Trim();
            if (trimmed.Length != line.Length) TrimmedSentences++;
            return trimmed;
        }
    }
}
