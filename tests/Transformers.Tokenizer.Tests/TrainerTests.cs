using System.Text;
using Transformers.Tokenizer.Models;
using Transformers.Tokenizer.Training;

namespace Transformers.Tokenizer.Tests;

public class TrainerTests
{
    private static readonly string[] Specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    private static Vocabulary Train(int size, params string[] texts) =>
        new WordPieceTrainer(new WordPieceTrainerOptions { VocabSize = size, MinFrequency = 1 }).Train(texts).Vocabulary;

    [Fact]
    public void InitialVocabularyThenMostFrequentMerge()
    {
        // Words ab x3, ac x1. Alphabet a b c; ## forms of b and c. (a, ##b) has count 3: merged first.
        Assert.Equal([.. Specials, "a", "b", "c", "##b", "##c", "ab"], Train(11, "ab ab ab ac").Tokens);
        Assert.Equal([.. Specials, "a", "b", "c", "##b", "##c", "ab", "ac"], Train(12, "ab ab ab ac").Tokens);
    }

    [Fact]
    public void TiesGoToTheOrdinallySmallerLeftThenRightToken()
    {
        // (x, ##y) and (a, ##b) both count 1: left "a" < "x".
        Assert.Equal("ab", Train(12, "xy ab").Tokens[^1]);
        // (a, ##c) and (a, ##b): same left, right "##b" < "##c".
        Assert.Equal("ab", Train(11, "ac ab").Tokens[^1]);
    }

    [Fact]
    public void MergesBuildOnMergesAndContinuationsStayPrefixed()
    {
        // abc x2: (a,##b)=2, (##b,##c)=2 -> tie: "a" < "##b"? No: '#' (0x23) < 'a' (0x61), so ##b##c first -> "##bc".
        var v = Train(14, "abc abc");
        Assert.Equal(["##bc", "abc"], v.Tokens.Skip(Specials.Length + 5).ToArray());
    }

    [Fact]
    public void MinFrequencyStopsMerging()
    {
        var v = new WordPieceTrainer(new WordPieceTrainerOptions { VocabSize = 100, MinFrequency = 3 }).Train(["ab ab ac"]).Vocabulary;
        Assert.DoesNotContain("ab", v.Tokens);
        Assert.DoesNotContain("ac", v.Tokens);
    }

    [Fact]
    public void SameBytesWhateverTheThreadCount()
    {
        string corpus = TestData.Corpus;
        byte[] Run(int threads)
        {
            var result = new WordPieceTrainer(new WordPieceTrainerOptions { VocabSize = 2000, MaxDegreeOfParallelism = threads })
                .Train([corpus[..(corpus.Length / 3)], corpus[(corpus.Length / 3)..]]);
            var stream = new MemoryStream();
            result.Vocabulary.Save(stream);
            return stream.ToArray();
        }
        Assert.Equal(Run(1), Run(2));
        Assert.Equal(Run(2), Run(4));
    }

    [Fact]
    public void ManySmallTextsTrainLikeOneTextAndLikeAFile()
    {
        // The translator trains on the sentences of its training split: one text per sentence.
        string[] sentences = TestData.Corpus.Split('\n');
        var options = new WordPieceTrainerOptions { VocabSize = 1500 };
        var fromSentences = new WordPieceTrainer(options).Train(sentences).Vocabulary.Tokens;
        var fromOneText = new WordPieceTrainer(options).Train([string.Join('\n', sentences)]).Vocabulary.Tokens;
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(TestData.Corpus);
        var fromStream = new WordPieceTrainer(options).Train([() => new MemoryStream(bytes)]).Vocabulary.Tokens;
        Assert.Equal(fromOneText, fromSentences);
        Assert.Equal(fromOneText, fromStream);
    }

    [Fact]
    public void CasedTrainingKeepsAccentsAndTrainedVocabEncodes()
    {
        string french = string.Concat(Enumerable.Repeat("L'été à Paris, où l'École est fermée. ", 50));
        var v = new WordPieceTrainer(new WordPieceTrainerOptions { VocabSize = 120, MinFrequency = 2, Tokenizer = WordPieceOptions.Cased })
            .Train([french]).Vocabulary;
        Assert.Contains("été", v.Tokens);
        Assert.Contains("École", v.Tokens);
        var t = WordPieceTokenizer.Create(v, WordPieceOptions.Cased);
        // The apostrophe is a token of its own; HF's decoder cleanup does not reattach it.
        Assert.Equal("L ' été à Paris, où l ' École est fermée.", t.Decode(t.Encode("L'été à Paris, où l'École est fermée.").Ids, true));
        Assert.DoesNotContain(t.UnknownId, t.Encode(french).Ids);
    }

    [Fact]
    public void SizeSmallerThanTheAlphabetIsAClearError()
    {
        var ex = Assert.Throws<ArgumentException>(() => Train(8, "abc def"));
        Assert.Contains("vocabulary size 8", ex.Message);
        Assert.Contains("alphabet", ex.Message);
    }

    [Fact]
    public void AlphabetLimitKeepsTheMostFrequentCharacters()
    {
        var v = new WordPieceTrainer(new WordPieceTrainerOptions { VocabSize = 100, MinFrequency = 1, LimitAlphabet = 2 })
            .Train(["aaa bbb c"]).Vocabulary;
        Assert.Equal([.. Specials, "a", "b", "##a", "##b"], v.Tokens.Take(9));
        Assert.DoesNotContain("c", v.Tokens);
    }

    [Fact]
    public void InvalidUtf8IsReplacedAndCounted()
    {
        byte[] bytes = [.. "ab "u8, 0xFF, (byte)' ', 0xFE, .. " ab cd "u8, 0xC3];
        var result = new WordPieceTrainer(new WordPieceTrainerOptions { VocabSize = 50, MinFrequency = 1 })
            .Train([() => new MemoryStream(bytes)]);
        Assert.Equal(3, result.InvalidUtf8Sequences);
        Assert.Equal(3, result.Words); // ab, ab, cd: the U+FFFDs are cleaned away
        Assert.Equal(bytes.Length, result.Bytes);
    }

    [Fact]
    public void TenMegabyteSingleLine()
    {
        // 10 MB, no newline: read in chunks cut at word boundaries, so every word is counted whole.
        var sb = new StringBuilder(10_500_000);
        var random = new Random(7);
        long words = 0;
        while (sb.Length < 10_000_000)
        {
            for (int i = random.Next(2, 8); i > 0; i--) sb.Append((char)('a' + random.Next(6)));
            sb.Append(' ');
            words++;
        }
        string line = sb.ToString();
        var result = new WordPieceTrainer(new WordPieceTrainerOptions { VocabSize = 500 }).Train([line]);
        Assert.Equal(words, result.Words);
        Assert.Equal(500, result.Vocabulary.Count);
        // And the tokenizer encodes it in one call, offsets ending at the last word.
        var t = WordPieceTokenizer.Create(result.Vocabulary);
        var buffer = new TokenBuffer();
        t.EncodeTo(line, buffer);
        Assert.Equal(line.Length - 1, buffer.Ends[buffer.Count - 1]);
        Assert.DoesNotContain(t.UnknownId, buffer.Ids.ToArray());
    }

    [Fact]
    public void MissingInputFileIsNamed()
    {
        var ex = Assert.Throws<FileNotFoundException>(() =>
            new WordPieceTrainer(new WordPieceTrainerOptions()).TrainFromFiles(["/nonexistent/corpus.txt"]));
        Assert.Contains("/nonexistent/corpus.txt", ex.Message);
    }
}
