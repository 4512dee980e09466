using System.Text;
using Transformers.Tokenizer.Models;

namespace Transformers.Tokenizer.Tests;

public class VocabularyTests
{
    private static Stream Utf8(string s) => new MemoryStream(Encoding.UTF8.GetBytes(s));

    [Fact]
    public void ReadsLfAndCrlfAndWritesLf()
    {
        var crlf = Vocabulary.Load(Utf8("[PAD]\r\n[UNK]\r\nhello\r\n##lo\r\n"), "v.txt");
        var lf = Vocabulary.Load(Utf8("[PAD]\n[UNK]\nhello\n##lo"), "v.txt");
        Assert.Equal(["[PAD]", "[UNK]", "hello", "##lo"], crlf.Tokens);
        Assert.Equal(crlf.Tokens, lf.Tokens);
        var output = new MemoryStream();
        crlf.Save(output);
        Assert.Equal("[PAD]\n[UNK]\nhello\n##lo\n", Encoding.UTF8.GetString(output.ToArray()));
    }

    [Fact]
    public void SaveToAPath_IsAtomic_AndRemovesTheTempFileAKilledSaveLeft()
    {
        var dir = Path.Combine(Path.GetTempPath(), "vocab-save-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var path = Path.Combine(dir, "vocab.txt");
            var stale = $"{path}.{int.MaxValue}.tmp";                    // no process has this id
            File.WriteAllText(stale, "half a vocabu");
            Vocabulary.Load(Utf8("[PAD]\n[UNK]\nhello\n"), "v.txt").Save(path);
            Assert.Equal(["vocab.txt"], Directory.GetFiles(dir).Select(Path.GetFileName));
            Assert.Equal("[PAD]\n[UNK]\nhello\n", File.ReadAllText(path));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void BertVocabularyLoadsWithItsSpecialIds()
    {
        var t = TestData.Bert;
        Assert.Equal(30522, t.Vocabulary.Count);
        Assert.Equal((0, 100, 101, 102, 103), (t.PaddingId, t.UnknownId, t.ClassificationId, t.SeparatorId, t.MaskId));
    }

    [Fact]
    public void DuplicateEntryNamesBothLines()
    {
        var ex = Assert.Throws<InvalidDataException>(() => Vocabulary.Load(Utf8("[UNK]\nhello\nworld\nhello\n"), "vocab.txt"));
        Assert.Equal("vocab.txt:4: duplicate token 'hello' (first at line 2)", ex.Message);
    }

    [Fact]
    public void EmptyVocabularyAndEmptyLineAreErrors()
    {
        Assert.Contains("empty", Assert.Throws<InvalidDataException>(() => Vocabulary.Load(Utf8(""), "vocab.txt")).Message);
        Assert.Equal("vocab.txt:2: empty token", Assert.Throws<InvalidDataException>(() => Vocabulary.Load(Utf8("[UNK]\n\nx\n"), "vocab.txt")).Message);
    }

    [Fact]
    public void MissingUnknownTokenIsAnError()
    {
        var ex = Assert.Throws<InvalidDataException>(() => WordPieceTokenizer.Create(new Vocabulary(["[PAD]", "[CLS]", "[SEP]", "[MASK]", "a"])));
        Assert.Contains("'[UNK]'", ex.Message);
    }

    [Fact]
    public void FileErrorsNameTheFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"dup-{Guid.NewGuid():N}.txt");
        File.WriteAllText(path, "[UNK]\na\na\n");
        try
        {
            var ex = Assert.Throws<InvalidDataException>(() => WordPieceTokenizer.FromVocabFile(path));
            Assert.StartsWith(path + ":3:", ex.Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void TrainedVocabularyIsReadableByMicrosoftMlBertTokenizer()
    {
        var trained = new Training.WordPieceTrainer(new Training.WordPieceTrainerOptions { VocabSize = 300, MinFrequency = 1 })
            .Train([TestData.Corpus[..20000]]).Vocabulary;
        var stream = new MemoryStream();
        trained.Save(stream);
        stream.Position = 0;
        var ml = Microsoft.ML.Tokenizers.BertTokenizer.Create(stream);
        var ours = WordPieceTokenizer.Create(trained);
        const string text = "the license is free software";
        Assert.Equal(ours.Encode(text).Ids, ml.EncodeToIds(text));
    }
}
