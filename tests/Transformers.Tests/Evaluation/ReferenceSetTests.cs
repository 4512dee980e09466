using System.Text;
using Transformers.Data;
using Transformers.Evaluation;

namespace Transformers.Tests.Evaluation;

public class ReferenceSetTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("eval-tests").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text, new UTF8Encoding(false));
        return path;
    }

    [Fact]
    public void ReadFiles_DifferentLineCounts_NameBothFiles()
    {
        var hyp = Write("hyp.txt", "a\nb\nc\n");
        var reference = Write("ref.txt", "a\nb\n");
        var error = Assert.Throws<CorpusFormatException>(() => ReferenceSet.ReadFiles(hyp, [reference]));
        Assert.Equal(reference, error.File);
        Assert.Contains("2 reference lines, 3 hypothesis lines", error.Message);
        Assert.Contains(hyp, error.Message);
    }

    [Fact]
    public void ReadFiles_EmptyFile()
    {
        var error = Assert.Throws<CorpusFormatException>(() => ReferenceSet.ReadFiles(Write("empty.txt", ""), [Write("r.txt", "a\n")]));
        Assert.Equal("file is empty", error.Reason);
    }

    [Fact]
    public void ReadFiles_CrlfAndBom_ReadLikeLf()
    {
        var hyp = Write("hyp.txt", "\uFEFFThe dog bit the man.\r\nIt wasn't surprising.\r\nThe man had just bitten him.\r\n");
        var r1 = Write("r1.txt", "The dog bit the man.\nIt was not unexpected.\nThe man bit him first.\n");
        var r2 = Write("r2.txt", "The dog had bit the man.\nNo one was surprised.\nThe man had bitten the dog.");
        var (hypotheses, references) = ReferenceSet.ReadFiles(hyp, [r1, r2]);
        Assert.Equal("The dog bit the man.", hypotheses[0]);
        Assert.Equal(48.530827, Bleu.Corpus(hypotheses, references).Score, 1e-6); // sacreBLEU README value
    }

    [Fact]
    public void Align_SegmentWithoutAnyReference_Throws()
    {
        var error = Assert.Throws<ArgumentException>(() => ReferenceSet.Align(["a", "b"], [["x", ""]]));
        Assert.Contains("segment 2 has no non-empty reference", error.Message);
    }
}
