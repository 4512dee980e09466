using Transformers.Tokenizer.Models;
using Transformers.Tokenizer.Processing;

namespace Transformers.Tokenizer.Tests;

/// <summary>
/// Hand-checked (id, start, end) triples over the bert-base-uncased vocabulary. Ids were read from
/// vocab.txt (line number - 1) with grep, offsets counted by hand; HF's tokenizer agrees (AgreementTests).
/// </summary>
public class EncodingTests
{
    private static WordPieceTokenizer Bert => TestData.Bert;

    [Fact]
    public void NewlinesAndTabsSeparateWordsNeverMergeThem() =>
        Assert.Equal([(7592, 0, 5), (2088, 6, 11), (2047, 12, 15), (2259, 17, 21)],
                     Bert.Tokens("hello\nworld\tnew\r\nyork"));

    [Fact]
    public void AsciiSymbolsAreEachAToken() =>
        // a $ b + c = < > | ~ ^ `
        Assert.Equal([(1037, 0, 1), (1002, 1, 2), (1038, 2, 3), (1009, 3, 4), (1039, 4, 5), (1027, 5, 6), (1026, 6, 7),
                      (1028, 7, 8), (1064, 8, 9), (1066, 9, 10), (1034, 10, 11), (1036, 11, 12)],
                     Bert.Tokens("a$b+c=<>|~^`"));

    [Fact]
    public void EmojiIsAWordOfItsOwnAndUnknownHere() =>
        // U+1F600 is a symbol (So), not punctuation: it stays in its word; the word is not in the vocabulary.
        Assert.Equal([(7592, 0, 5), (100, 6, 8), (999, 8, 9)], Bert.Tokens("hello 😀!"));

    [Fact]
    public void CjkIdeographsAreIsolatedButKanaIsNot()
    {
        Assert.Equal([(1879, 0, 1), (1755, 1, 2), (1060, 2, 3)], Bert.Tokens("東京x"));
        // Hiragana is not in BERT's CJK ranges: "こx" is one word, segmented as こ ##x.
        Assert.Equal([(1655, 0, 1), (2595, 1, 2)], Bert.Tokens("こx"));
    }

    [Fact]
    public void UncasedStripsAccentsAndLowercases()
    {
        Assert.Equal([(7668, 0, 4), (12431, 5, 10)], Bert.Tokens("Café École"));
        // Decomposed é: the dropped combining acute (offset 4) belongs to no token, as in HF.
        Assert.Equal([(7668, 0, 4)], Bert.Tokens("Cafe\u0301"));
    }

    private static readonly string[] FrenchVocab =
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "Caf", "##é", "École", "été", "l", "'", "cafe", "ecole", "ete"];

    [Fact]
    public void CasedKeepsAccentsAndCase()
    {
        var cased = WordPieceTokenizer.Create(new Vocabulary(FrenchVocab), WordPieceOptions.Cased);
        Assert.Equal([(5, 0, 3), (6, 3, 4), (9, 5, 6), (10, 6, 7), (8, 7, 10), (7, 11, 16)], cased.Tokens("Café l'été École"));
        // No NFD in cased mode: a decomposed "é" is "e" + U+0301, which this vocabulary lacks.
        Assert.Equal([(1, 0, 5)], cased.Tokens("Cafe\u0301"));
    }

    [Fact]
    public void UncasedWithTheSameFrenchVocab()
    {
        var uncased = WordPieceTokenizer.Create(new Vocabulary(FrenchVocab), WordPieceOptions.Uncased);
        Assert.Equal([(11, 0, 4), (9, 5, 6), (10, 6, 7), (13, 7, 10), (12, 11, 16)], uncased.Tokens("Café l'été École"));
    }

    [Fact]
    public void ControlCharactersAreRemovedWithoutSplittingWords() =>
        // NUL, BEL, ZERO WIDTH SPACE (Cf) and U+FFFD vanish; the words around them stay whole.
        Assert.Equal([(7592, 0, 6), (2088, 8, 14)], Bert.Tokens("hel\0lo\a wor\u200Bld\uFFFD"));

    [Fact]
    public void WordOf101CharactersIsUnknownAndOf100IsNot()
    {
        var vocab = WordPieceTokenizer.Create(new Vocabulary(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "##a"]));
        Assert.Equal([(1, 0, 101)], vocab.Tokens(new string('a', 101)));
        var hundred = vocab.Tokens(new string('a', 100));
        Assert.Equal(100, hundred.Length);
        Assert.Equal((5, 0, 1), hundred[0]);
        Assert.All(hundred.Skip(1), t => Assert.Equal(6, t.Id));
        // The limit counts code points, not UTF-16 units: 60 emoji are 120 units but 60 characters.
        var emoji = WordPieceTokenizer.Create(new Vocabulary(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "😀", "##😀"]));
        Assert.Equal(60, emoji.Tokens(string.Concat(Enumerable.Repeat("😀", 60))).Length);
    }

    [Fact]
    public void LongestMatchFirstWithContinuationPieces() =>
        // un, then the longest continuation ##aff (not ##af, not ##a), then ##able.
        Assert.Equal([(5, 0, 2), (8, 2, 5), (7, 5, 9)],
            WordPieceTokenizer.Create(new Vocabulary(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##a", "##able", "##aff", "##af"]))
                .Tokens("unaffable"));

    [Fact]
    public void NoSegmentationMeansOneUnknownForTheWholeWord() =>
        Assert.Equal([(5, 0, 2), (1, 3, 7)],
            WordPieceTokenizer.Create(new Vocabulary(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "ab", "##c"]))
                .Tokens("un abcd"));

    [Fact]
    public void EmptyAndWhitespaceOnlyInput()
    {
        Assert.Empty(Bert.Tokens(""));
        Assert.Empty(Bert.Tokens(" \n\t\r\u3000 "));
        var e = Bert.Encode("");
        Assert.Equal([101, 102], e.Ids);
        Assert.Equal([new TokenOffset(0, 0), new TokenOffset(0, 0)], e.Offsets);
    }

    [Fact]
    public void MaskWrittenInTextIsTheSpecialToken()
    {
        Assert.Equal([(1996, 0, 3), (103, 4, 10), (1012, 10, 11)], Bert.Tokens("the [MASK]."));
        Assert.Equal([(103, 0, 6), (2003, 7, 9)], Bert.Tokens("[MASK] is"));
        // Only the exact spelling: "[mask]" is ordinary text.
        Assert.Equal([(1031, 0, 1), (7308, 1, 5), (1033, 5, 6)], Bert.Tokens("[mask]"));
    }

    [Fact]
    public void SentencePairWithLongestFirstTruncationAndPadding()
    {
        var e = Bert.Encode("hello world", "new york tab", new BertEncodeOptions { MaxLength = 6 });
        // Budget 3 for 2 + 3 tokens: the longer (second) loses one, then on the tie the second again.
        Assert.Equal([101, 7592, 2088, 102, 2047, 102], e.Ids);
        Assert.Equal([0, 0, 0, 0, 1, 1], e.TypeIds);
        Assert.Equal([1, 1, 1, 1, 1, 1], e.AttentionMask);
        Assert.Equal([new(0, 0), new(0, 5), new(6, 11), new(0, 0), new(0, 3), new TokenOffset(0, 0)], e.Offsets);

        var padded = Bert.Encode("hello", "world", new BertEncodeOptions { MaxLength = 7, Padding = Padding.ToMaxLength });
        Assert.Equal([101, 7592, 102, 2088, 102, 0, 0], padded.Ids);
        Assert.Equal([0, 0, 0, 1, 1, 0, 0], padded.TypeIds);
        Assert.Equal([1, 1, 1, 1, 1, 0, 0], padded.AttentionMask);
    }

    [Fact]
    public void TruncationTooShortForSpecialTokensIsAClearError()
    {
        var ex = Assert.Throws<ArgumentException>(() => Bert.Encode("a", "b", new BertEncodeOptions { MaxLength = 2 }));
        Assert.Contains("MaxLength 2", ex.Message);
    }

    [Fact]
    public void BatchEncodingMatchesSingleAndPadsToLongest()
    {
        string[] texts = ["hello world", "the", "new york, new york!"];
        var batch = Bert.EncodeBatch(texts, new BertEncodeOptions { Padding = Padding.ToLongest });
        int longest = texts.Max(t => Bert.Encode(t).Length);
        Assert.All(batch, e => Assert.Equal(longest, e.Length));
        for (int i = 0; i < texts.Length; i++)
        {
            var single = Bert.Encode(texts[i]);
            Assert.Equal(single.Ids, batch[i].Ids.Take(single.Length));
            Assert.All(batch[i].Ids.Skip(single.Length), id => Assert.Equal(0, id));
        }
    }

    [Fact]
    public void SpanApiWritesClsTextSepAndTruncates()
    {
        Span<int> ids = stackalloc int[4];
        int n = Bert.EncodeToIds("hello, world!", ids);
        Assert.Equal(4, n);
        Assert.Equal([101, 7592, 1010, 102], ids.ToArray());
    }
}
