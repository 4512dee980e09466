using Transformers.Data;

namespace Transformers.Evaluation;

/// <summary>A hypothesis with its non-empty references.</summary>
public sealed record Segment(string Hypothesis, IReadOnlyList<string> References);

/// <summary>Aligns hypotheses with reference streams, and reads them from files, with clear errors.</summary>
public static class ReferenceSet
{
    /// <summary>
    /// The sacreBLEU major version whose default computations <see cref="Bleu"/> and <see cref="ChrF"/>
    /// reproduce, as written in their signatures (no minor version is claimed: this is not sacreBLEU).
    /// </summary>
    public const string SacreBleuVersion = "2.x.x";

    /// <summary>
    /// Pairs hypothesis i with references[k][i] for every stream k. Every stream must have one line
    /// per hypothesis. Empty references are treated as missing (sacreBLEU's variable number of
    /// references); a hypothesis left with no reference is an error.
    /// </summary>
    public static IReadOnlyList<Segment> Align(IReadOnlyList<string> hypotheses, IReadOnlyList<IReadOnlyList<string>> references)
    {
        if (references.Count == 0) throw new ArgumentException("at least one reference stream is needed");
        for (var k = 0; k < references.Count; k++)
            if (references[k].Count != hypotheses.Count)
                throw new ArgumentException($"reference stream {k + 1} has {references[k].Count} segments but there are {hypotheses.Count} hypotheses");
        var segments = new List<Segment>(hypotheses.Count);
        for (var i = 0; i < hypotheses.Count; i++)
        {
            var refs = references.Select(stream => stream[i]).Where(r => r.Length > 0).ToList();
            if (refs.Count == 0) throw new ArgumentException($"segment {i + 1} has no non-empty reference");
            segments.Add(new Segment(hypotheses[i], refs));
        }
        return segments;
    }

    /// <summary>The signature's nrefs: the number of streams, or "var" when some segment misses a reference.</summary>
    public static string CountLabel(IReadOnlyList<Segment> segments, int streams) =>
        segments.All(s => s.References.Count == streams) ? streams.ToString(System.Globalization.CultureInfo.InvariantCulture) : "var";

    /// <summary>
    /// Reads a hypothesis file and one or more reference files (UTF-8, one segment per line; a BOM
    /// and CRLF endings are accepted). Files of different line counts, empty files and invalid UTF-8
    /// are errors that name the file.
    /// </summary>
    public static (IReadOnlyList<string> Hypotheses, IReadOnlyList<IReadOnlyList<string>> References) ReadFiles(
        string hypothesisPath, IReadOnlyList<string> referencePaths)
    {
        if (referencePaths.Count == 0) throw new ArgumentException("at least one reference file is needed");
        var hypotheses = ReadLines(hypothesisPath);
        var references = new List<IReadOnlyList<string>>();
        foreach (var path in referencePaths)
        {
            var lines = ReadLines(path);
            if (lines.Count != hypotheses.Count)
                throw new CorpusFormatException(path, "", null,
                    $"line counts differ: {lines.Count} reference lines, {hypotheses.Count} hypothesis lines in {hypothesisPath}");
            references.Add(lines);
        }
        return (hypotheses, references);
    }

    private static List<string> ReadLines(string path)
    {
        var lines = Utf8Lines.Read(path).Select(l => l.Error is null ? l.Text : throw l.Error).ToList();
        if (lines.Count == 0) throw new CorpusFormatException(path, "", null, "file is empty");
        return lines;
    }
}
