using System.Text;
using Transformers.Data;

namespace Transformers.Tests.Data;

public class CorpusExportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("export-tests").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static SentencePair Pair(string fr, string en) => new(fr, en, "mem", 0);

    private static List<(string, string)> Texts(IEnumerable<SentencePair> pairs) => pairs.Select(p => (p.Source, p.Target)).ToList();

    private string Bytes(string name) => Convert.ToHexString(File.ReadAllBytes(Path.Combine(_dir, name)));

    private static string Hex(string text) => Convert.ToHexString(Encoding.UTF8.GetBytes(text));

    [Fact]
    public void Write_SmallSplit_ExactBytes_FrenchFirst_Utf8NoBom_LfEnds()
    {
        var split = new CorpusSplit(
            [Pair("Ça va ?", "How are you?"), Pair("Fichier", "File")],
            [Pair("Écrire", "Write")],
            []);
        var outDir = Path.Combine(_dir, "new", "split"); // created, parents too
        _ = CorpusExport.Write(split, outDir);
        string Read(string name) => Convert.ToHexString(File.ReadAllBytes(Path.Combine(outDir, name)));

        Assert.Equal(Hex("Ça va ?\tHow are you?\nFichier\tFile\n"), Read("train.tsv"));
        Assert.Equal(Hex("Ça va ?\nFichier\n"), Read("train.fr"));
        Assert.Equal(Hex("How are you?\nFile\n"), Read("train.en"));
        Assert.Equal(Hex("Écrire\tWrite\n"), Read("dev.tsv"));
        Assert.Equal(Hex("Écrire\n"), Read("dev.fr"));
        Assert.Equal(Hex("Write\n"), Read("dev.en"));
        foreach (var name in new[] { "test.tsv", "test.fr", "test.en" }) Assert.Empty(File.ReadAllBytes(Path.Combine(outDir, name)));
        Assert.StartsWith("C387", Read("train.tsv")); // "Ç" in UTF-8, no EF BB BF before it
        Assert.Equal(9, Directory.GetFiles(outDir).Length); // no temp files left behind
    }

    [Fact]
    public void Write_ReportsEachPart_CountsAndPaths()
    {
        var split = new CorpusSplit([Pair("a", "b"), Pair("c", "d")], [Pair("e", "f")], []);
        var result = CorpusExport.Write(split, _dir);
        Assert.Equal([SplitPart.Train, SplitPart.Dev, SplitPart.Test], result.Parts.Select(p => p.Part));
        Assert.Equal([2, 1, 0], result.Parts.Select(p => p.Pairs));
        Assert.Equal(new ExportedPart(SplitPart.Dev, 1, Path.Combine(_dir, "dev.tsv"), Path.Combine(_dir, "dev.fr"), Path.Combine(_dir, "dev.en")), result[SplitPart.Dev]);
        Assert.Equal((0, 0, 0, 0), (result.ReplacedSentences, result.ReplacedCharacters, result.TrimmedSentences, result.DroppedPairs));
    }

    [Fact]
    public void RoundTrip_ThroughTheLoaderTrainUses_SamePairsSameOrder()
    {
        // A split made the way train makes it, from pairs the readers could have produced (trimmed, no TAB/CR/LF).
        var pairs = Enumerable.Range(0, 400)
            .Select(i => Pair($"Phrase n° {i} : « déjà » — ok", $"Sentence #{i}: \"already\" - ok"))
            .Append(Pair("Œuvre ½ ✓", "Work ½ ✓"))
            .ToList();
        var split = CorpusSplit.Create(pairs);
        Assert.NotEmpty(split.Dev);
        Assert.NotEmpty(split.Test);
        CorpusExport.Write(split, _dir);

        var back = CorpusSplit.Load([_dir]); // train --data DIR
        foreach (var part in Enum.GetValues<SplitPart>())
            Assert.Equal(Texts(split[part]), Texts(back[part]));
        Assert.Equal(Path.Combine(_dir, "train.tsv"), back.Train[0].File);

        // The Moses pair of one part, given as files, is split again by hash: every pair stays in its part.
        var moses = CorpusSplit.Load([Path.Combine(_dir, "dev.fr"), Path.Combine(_dir, "dev.en")]);
        Assert.Equal(Texts(split.Dev), Texts(moses.Dev));
        Assert.Empty(moses.Train);
        Assert.Empty(moses.Test);
    }

    [Fact]
    public void TabCrLf_BecomeSpaces_EndsTrimmed_EmptySidesDropped_AllCounted()
    {
        var split = new CorpusSplit(
            [
                Pair("Usage :\tprog [options]\r\n", "Usage:\tprog [options]\n"), // both sides: 3 + 2 characters, both end trimmed
                Pair("ligne 1\nligne 2\rligne 3", "line 1\r\nline 2"),             // 2 + 2 characters, nothing to trim
                Pair("  espace ", "space"),                                       // trimmed only
                Pair("\t\n", "Empty French"),                                     // dropped: French is empty once trimmed
            ],
            [],
            []);
        var result = CorpusExport.Write(split, _dir);

        Assert.Equal(4 + 1, result.ReplacedSentences);
        Assert.Equal(3 + 2 + 2 + 2 + 2, result.ReplacedCharacters);
        Assert.Equal(2 + 1 + 1, result.TrimmedSentences);
        Assert.Equal(1, result.DroppedPairs);
        Assert.Equal(3, result[SplitPart.Train].Pairs);
        Assert.Equal(Hex("Usage : prog [options]\tUsage: prog [options]\nligne 1 ligne 2 ligne 3\tline 1  line 2\nespace\tspace\n"), Bytes("train.tsv"));
        Assert.Equal(Hex("Usage : prog [options]\nligne 1 ligne 2 ligne 3\nespace\n"), Bytes("train.fr"));
        Assert.Equal(Hex("Usage: prog [options]\nline 1  line 2\nspace\n"), Bytes("train.en"));

        // What was written is exactly what is read back.
        Assert.Equal([("Usage : prog [options]", "Usage: prog [options]"), ("ligne 1 ligne 2 ligne 3", "line 1  line 2"), ("espace", "space")],
                     Texts(CorpusSplit.Load([_dir]).Train));
    }

    [Fact]
    public void OutIsAFile_OneLineErrorNamingIt_NothingWritten()
    {
        var file = Path.Combine(_dir, "not-a-dir");
        File.WriteAllText(file, "keep me");
        var error = Assert.Throws<IOException>(() => CorpusExport.Write(new CorpusSplit([Pair("a", "b")], [], []), file));
        Assert.Equal($"{file}: is a file, not a directory", error.Message);
        Assert.Equal("keep me", File.ReadAllText(file));
        Assert.Equal([file], Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void Load_Directory_MissingPartOrMixedWithFiles_OneLineErrors()
    {
        CorpusExport.Write(new CorpusSplit([Pair("a", "b")], [Pair("c", "d")], [Pair("e", "f")]), _dir);
        Assert.Throws<ArgumentException>(() => CorpusSplit.Load([_dir, Path.Combine(_dir, "train.tsv")]));
        File.Delete(Path.Combine(_dir, "test.tsv"));
        var missing = Assert.Throws<FileNotFoundException>(() => CorpusSplit.Load([_dir]));
        Assert.StartsWith(Path.Combine(_dir, "test.tsv") + ": missing", missing.Message);
        Assert.DoesNotContain('\n', missing.Message);
    }
}
