using System.Text;
using Transformers.Data;

namespace Transformers.Tests.Data;

public class ParallelCorpusTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("corpus-tests").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text) => Write(name, new UTF8Encoding(false).GetBytes(text));

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Tsv_TatoebaLayout_FrenchSourceEnglishTarget_AttributionIgnored()
    {
        var path = Write("fra.txt", "Go.\tVa !\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272\nHi.\tSalut !\tCC-BY\n");
        var corpus = ParallelCorpus.FromTsv(path);
        Assert.Equal([new SentencePair("Va !", "Go.", path, 1), new SentencePair("Salut !", "Hi.", path, 2)], corpus.Pairs);
    }

    [Fact]
    public void Tsv_ConfigurableColumns()
    {
        var path = Write("custom.tsv", "id1\tBonjour\tHello\n");
        var corpus = ParallelCorpus.FromTsv(path, new TsvColumns(Source: 1, Target: 2));
        Assert.Equal(("Bonjour", "Hello"), (corpus.Pairs[0].Source, corpus.Pairs[0].Target));
    }

    [Fact]
    public void Tsv_BomAndCrlf_AreAccepted()
    {
        var bytes = Encoding.UTF8.Preamble.ToArray().Concat(new UTF8Encoding(false).GetBytes("Go.\tVa !\r\nHi.\tSalut !\r\n")).ToArray();
        var corpus = ParallelCorpus.FromTsv(Write("bom.tsv", bytes));
        Assert.Equal(["Go.", "Hi."], corpus.Pairs.Select(p => p.Target)); // no U+FEFF on the first line
        Assert.Equal(["Va !", "Salut !"], corpus.Pairs.Select(p => p.Source)); // no \r on the last column
    }

    [Fact]
    public void Tsv_MissingColumn_FailsByDefault_NamingFileLineAndColumn()
    {
        var path = Write("missing.tsv", "Go.\tVa !\nHi.\n");
        var error = Assert.Throws<CorpusFormatException>(() => ParallelCorpus.FromTsv(path));
        Assert.Equal(path, error.File);
        Assert.Equal("line 2", error.Location);
        Assert.Equal("column 2 (source)", error.Field);
        Assert.Contains("missing column", error.Message);
    }

    [Fact]
    public void Tsv_EmptySide_Fails()
    {
        var error = Assert.Throws<CorpusFormatException>(() => ParallelCorpus.FromTsv(Write("empty-side.tsv", " \tVa !\n")));
        Assert.Equal(("line 1", "column 1 (target)", "empty side"), (error.Location, error.Field, error.Reason));
    }

    [Fact]
    public void Tsv_InvalidUtf8_Fails_NamingLine()
    {
        var bytes = new UTF8Encoding(false).GetBytes("Go.\tVa !\nHi.\tSalut\n").Concat(new byte[] { 0xC3, 0x28, (byte)'\t', (byte)'x', (byte)'\n' }).ToArray();
        var error = Assert.Throws<CorpusFormatException>(() => ParallelCorpus.FromTsv(Write("bad.tsv", bytes)));
        Assert.Equal("line 3", error.Location);
        Assert.Contains("invalid UTF-8", error.Reason);
    }

    [Fact]
    public void Tsv_SkipAndCount_KeepsGoodLines_AndSummarizes()
    {
        var path = Write("mixed.tsv", "Go.\tVa !\nbroken\n\nHi.\t\nRun!\tCours !\n");
        var corpus = ParallelCorpus.FromTsv(path, policy: ErrorPolicy.SkipAndCount);
        Assert.Equal(["Go.", "Run!"], corpus.Pairs.Select(p => p.Target));
        Assert.Equal([1, 5], corpus.Pairs.Select(p => p.Line));
        Assert.Equal(2, corpus.Errors.Skipped);
        var summary = corpus.Errors.Summary();
        Assert.Contains("skipped 2 malformed record(s)", summary);
        Assert.Contains("line 2", summary);
        Assert.Contains("line 4", summary);
    }

    [Fact]
    public void Tsv_EmptyFile_IsAnError()
    {
        var error = Assert.Throws<CorpusFormatException>(() => ParallelCorpus.FromTsv(Write("empty.tsv", ""), policy: ErrorPolicy.SkipAndCount));
        Assert.Equal("file is empty", error.Reason);
    }

    [Fact]
    public void Tsv_MissingFile()
    {
        Assert.Throws<FileNotFoundException>(() => ParallelCorpus.FromTsv(Path.Combine(_dir, "nope.tsv")));
    }

    [Fact]
    public void Moses_LineAligned()
    {
        var fr = Write("corpus.fr", "Bonjour.\nMerci.\n");
        var en = Write("corpus.en", "Hello.\r\nThanks.\r\n");
        var corpus = ParallelCorpus.FromMoses(fr, en);
        Assert.Equal([new SentencePair("Bonjour.", "Hello.", fr, 1), new SentencePair("Merci.", "Thanks.", fr, 2)], corpus.Pairs);
    }

    [Fact]
    public void Moses_MismatchedLineCounts_AlwaysFail()
    {
        var fr = Write("a.fr", "Bonjour.\nMerci.\nOui.\n");
        var en = Write("a.en", "Hello.\nThanks.\n");
        var error = Assert.Throws<CorpusFormatException>(() => ParallelCorpus.FromMoses(fr, en, ErrorPolicy.SkipAndCount));
        Assert.Contains("line counts differ: 3 lines here, 2 in", error.Message);
        Assert.Equal("line 3", error.Location);
    }

    [Fact]
    public void Moses_EmptySide_FailOrSkip()
    {
        var fr = Write("b.fr", "Bonjour.\n\nOui.\n");
        var en = Write("b.en", "Hello.\nThanks.\nYes.\n");
        var error = Assert.Throws<CorpusFormatException>(() => ParallelCorpus.FromMoses(fr, en));
        Assert.Equal((fr, "line 2", "source"), (error.File, error.Location, error.Field));
        var skipped = ParallelCorpus.FromMoses(fr, en, ErrorPolicy.SkipAndCount);
        Assert.Equal(["Hello.", "Yes."], skipped.Pairs.Select(p => p.Target));
        Assert.Equal(1, skipped.Errors.Skipped);
    }

    [Fact]
    public void Moses_EmptyFile()
    {
        var error = Assert.Throws<CorpusFormatException>(() => ParallelCorpus.FromMoses(Write("c.fr", ""), Write("c.en", "x\n")));
        Assert.Equal("file is empty", error.Reason);
    }
}
